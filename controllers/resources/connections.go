package resources

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// ConnectionEnvPrefix starts the names of the variables a connection gives the pods:
// CONNECTION_<NAME>_URL, CONNECTION_<NAME>_HOST and CONNECTION_<NAME>_PORT.
const ConnectionEnvPrefix = "CONNECTION_"

// ConnectionTarget is one of a Microservice's connections, resolved against the callee.
type ConnectionTarget struct {
	// Name is the connection's name (spec name, else service).
	Name string
	// Service and Namespace name the callee.
	Service, Namespace string
	// Ports are the callee's ports the connection may use: the declared one, else all
	// of them. Empty when the connection is unresolved.
	Ports []v1alpha1.ServicePort
	// Reason and Message say why the connection is unresolved; empty when resolved.
	Reason, Message string
}

// Resolved tells whether the callee and its port exist.
func (t ConnectionTarget) Resolved() bool { return t.Reason == "" }

// Host is the callee's in-cluster DNS name.
func (t ConnectionTarget) Host() string {
	return fmt.Sprintf("%s.%s.svc.cluster.local", t.Service, t.Namespace)
}

// URL is the callee's address on its first admitted port; "" when unresolved.
func (t ConnectionTarget) URL() string {
	if !t.Resolved() {
		return ""
	}
	return fmt.Sprintf("http://%s:%d", t.Host(), t.Ports[0].Port)
}

// ConnectionName is the name of c: its name, else its service.
func ConnectionName(c v1alpha1.Connection) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Service
}

// CalleeKey names the Microservice c calls from ms: c's namespace, else ms's own.
func CalleeKey(ms *v1alpha1.Microservice, c v1alpha1.Connection) types.NamespacedName {
	ns := c.Namespace
	if ns == "" {
		ns = ms.Namespace
	}
	return types.NamespacedName{Namespace: ns, Name: c.Service}
}

// ResolveConnections resolves each of ms's connections, in spec order, against the
// callees found (a missing key means the callee does not exist).
func ResolveConnections(ms *v1alpha1.Microservice, callees map[types.NamespacedName]*v1alpha1.Microservice) []ConnectionTarget {
	out := make([]ConnectionTarget, 0, len(ms.Spec.Connections))
	for _, c := range ms.Spec.Connections {
		key := CalleeKey(ms, c)
		t := ConnectionTarget{Name: ConnectionName(c), Service: key.Name, Namespace: key.Namespace}
		callee := callees[key]
		switch ports := admittedPorts(callee, c.Port); {
		case callee == nil:
			t.Reason = v1alpha1.ReasonCalleeNotFound
			t.Message = fmt.Sprintf("connection %s: Microservice %s does not exist", t.Name, key)
		case len(ports) == 0:
			t.Reason = v1alpha1.ReasonPortNotFound
			t.Message = fmt.Sprintf("connection %s: Microservice %s has no port named %q", t.Name, key, c.Port)
		default:
			t.Ports = ports
		}
		out = append(out, t)
	}
	return out
}

// admittedPorts are the callee's ports a connection naming port may use: that one, or
// all of them when port is empty. None when the callee is nil or lacks the port.
func admittedPorts(callee *v1alpha1.Microservice, port string) []v1alpha1.ServicePort {
	if callee == nil {
		return nil
	}
	all := Ports(callee)
	if port == "" {
		return all
	}
	for _, p := range all {
		if p.Name == port {
			return []v1alpha1.ServicePort{p}
		}
	}
	return nil
}

// ConnectionEnvName is the variable-name stem of the connection called name:
// CONNECTION_ and name uppercased with '-' turned into '_'. Names are DNS labels, so two
// names never give one stem.
func ConnectionEnvName(name string) string {
	return ConnectionEnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// ConnectionEnv is the discovery environment of the resolved targets, in their order:
// URL, HOST and PORT of each callee's first admitted port. Unresolved connections give
// no variables, so a pod never starts with a wrong address.
func ConnectionEnv(targets []ConnectionTarget) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, t := range targets {
		if !t.Resolved() {
			continue
		}
		stem := ConnectionEnvName(t.Name)
		out = append(out,
			corev1.EnvVar{Name: stem + "_URL", Value: t.URL()},
			corev1.EnvVar{Name: stem + "_HOST", Value: t.Host()},
			corev1.EnvVar{Name: stem + "_PORT", Value: strconv.Itoa(int(t.Ports[0].Port))},
		)
	}
	return out
}

// WithEnv adds extra to the app container of d, a Deployment built by Deployment(ms):
// after DATABASE_URL and before the user's own variables, so theirs can refer to these
// as $(NAME). A variable the user defines in spec.env wins: its generated one is left out.
func WithEnv(d *appsv1ac.DeploymentApplyConfiguration, ms *v1alpha1.Microservice, extra []corev1.EnvVar) {
	var add []corev1ac.EnvVarApplyConfiguration
	for _, e := range extra {
		if !definesEnv(ms.Spec.Env, e.Name) {
			add = append(add, *convert[corev1ac.EnvVarApplyConfiguration](e))
		}
	}
	if len(add) == 0 {
		return
	}
	c := &d.Spec.Template.Spec.Containers[0]
	at := 0
	if ms.Spec.Database != nil && !definesEnv(ms.Spec.Env, EnvDatabaseURL) {
		at = 1 // see env: DATABASE_URL comes first
	}
	c.Env = slices.Insert(c.Env, at, add...)
}
