package resources

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// fuzzInput is what FuzzBuilders draws a Microservice from.
type fuzzInput struct {
	name, namespace, image, envNames string
	ports                            []byte
	replicas, minReplicas, spread    int32
	flags                            uint16
}

// fuzzMicroservice turns fuzz input into a Microservice the CRD admits (metadata and every
// schema and CEL rule of microservices.apps.kubeship.dev). Valid names are kept as they are;
// other bytes are mapped onto the allowed characters and ranges instead of skipped. Inputs
// the mapping cannot repair are skipped: kubectl would be refused them, so no builder ever
// sees them.
func fuzzMicroservice(t *testing.T, in fuzzInput) *v1alpha1.Microservice {
	t.Helper()
	ms := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Name: in.name, Namespace: in.namespace, UID: "uid-1"}}
	// The CRD admits a DNS label of at most 50 characters as the name (no dots: it names
	// the Service, the Deployment and the Job a migration runs in).
	if len(ms.Name) > 50 || len(validation.IsDNS1123Label(ms.Name)) > 0 {
		ms.Name = mapName(in.name, 50, dnsLabelAlphabet)
	}
	if len(validation.IsDNS1123Label(ms.Namespace)) > 0 {
		ms.Namespace = mapName(in.namespace, 63, dnsLabelAlphabet)
	}
	if errs := append(validation.IsDNS1123Label(ms.Name), validation.IsDNS1123Label(ms.Namespace)...); len(errs) > 0 {
		t.Skipf("the API server or the CRD refuses %s/%s: %v", ms.Namespace, ms.Name, errs)
	}
	image := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, in.image)
	if image == "" || len(image) > 1024 || !utf8.ValidString(image) {
		t.Skipf("the CRD refuses image %q", image)
	}
	ms.Spec.Image = image
	ms.Spec.Ports = fuzzPorts(in.ports)
	for _, n := range strings.Split(in.envNames, ",") {
		if n != "" && utf8.ValidString(n) {
			ms.Spec.Env = append(ms.Spec.Env, corev1.EnvVar{Name: n, Value: "v"})
		}
	}
	fuzzScaling(ms, in)
	fuzzDatabase(ms, in.flags>>4)
	if in.flags&(1<<8) != 0 {
		v := intstr.FromInt32(abs(in.spread) % 10)
		if in.flags&(1<<9) != 0 {
			v = intstr.FromString(fmt.Sprintf("%d0%%", 1+abs(in.spread)%9))
		}
		ms.Spec.DisruptionBudget = &v1alpha1.DisruptionBudgetSpec{MaxUnavailable: &v}
	}
	if in.flags&(1<<10) != 0 {
		ms.Spec.Migration = &v1alpha1.MigrationSpec{Command: []string{"/app", "migrate"}, Env: ms.Spec.Env}
	}
	return ms
}

const dnsLabelAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"

// mapName maps each byte of s onto alphabet, cut to maxLen.
func mapName(s string, maxLen int, alphabet string) string {
	b := []byte(s)
	if len(b) > maxLen {
		b = b[:maxLen]
	}
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}

// fuzzPorts reads up to 32 ports of 4 bytes each: a name of 1 to 15 characters matching
// the CRD's pattern, a number in 1..65535 and a protocol. A repeated name is dropped, since
// the list is keyed by name and the API server refuses duplicates.
func fuzzPorts(b []byte) []v1alpha1.ServicePort {
	var ports []v1alpha1.ServicePort
	seen := map[string]bool{}
	protocols := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP, ""}
	for i := 0; i+4 <= len(b) && len(ports) < 32; i += 4 {
		c := b[i : i+4]
		n := []byte(mapName(string([]byte{c[0], c[1], c[0] ^ c[1], c[1] + c[0]}), 1+int(c[0])%15, "abcdefghijklmnopqrstuvwxyz0123456789-"))
		for len(n) < 1+int(c[0])%15 {
			n = append(n, n...)
		}
		name := strings.Trim(string(n[:1+int(c[0])%15]), "-")
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		port := int32(c[2])<<8 | int32(c[3])
		ports = append(ports, v1alpha1.ServicePort{Name: name, Port: port%65535 + 1, Protocol: protocols[int(c[1])%4]})
	}
	return ports
}

// fuzzScaling sets spec.replicas (0 or more) or spec.scaling (1 <= min <= max, targets in
// 1..1000), never both.
func fuzzScaling(ms *v1alpha1.Microservice, in fuzzInput) {
	switch in.flags & 3 {
	case 1:
		ms.Spec.Replicas = ptr.To(abs(in.replicas))
	case 2, 3:
		s := &v1alpha1.ScalingSpec{MaxReplicas: 1 + abs(in.minReplicas)%100 + abs(in.spread)%100}
		if in.flags&4 != 0 {
			s.MinReplicas = ptr.To(1 + abs(in.minReplicas)%100)
		}
		if in.flags&8 != 0 {
			s.TargetCPUUtilizationPercentage = ptr.To(1 + abs(in.replicas)%1000)
		}
		if in.flags&3 == 3 {
			s.TargetMemoryUtilizationPercentage = ptr.To(1 + abs(in.spread)%1000)
		}
		ms.Spec.Scaling = s
	}
}

// fuzzDatabase sets no database, a dedicated one or a shared one, on either engine.
func fuzzDatabase(ms *v1alpha1.Microservice, f uint16) {
	engine := v1alpha1.EnginePostgres
	if f&1 != 0 {
		engine = v1alpha1.EngineMySQL
	}
	db := &v1alpha1.DatabaseSpec{Engine: engine, DeletionPolicy: v1alpha1.DeletionRetain}
	if f&8 != 0 {
		db.DeletionPolicy = v1alpha1.DeletionDelete
	}
	switch (f >> 1) % 3 {
	case 0:
		return
	case 1:
		db.Mode = v1alpha1.ModeDedicated
		q := resource.MustParse("2Gi")
		db.Storage = &q
	case 2:
		db.Mode = v1alpha1.ModeShared
		db.ServerRef = &v1alpha1.ServerReference{Name: "shared"}
	}
	ms.Spec.Database = db
}

func abs(v int32) int32 {
	if v < 0 {
		if v == -v { // math.MinInt32
			return 0
		}
		return -v
	}
	return v
}
