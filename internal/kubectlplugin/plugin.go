// Package kubectlplugin is the kubectl plugin kubectl-kubeship: `kubectl kubeship graph`
// prints the service graph of the live Microservices (see internal/graph).
package kubectlplugin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
	"github.com/kubeship/kubeship/internal/graph"
)

const usage = `Usage: kubectl kubeship graph [-n NAMESPACE | -A] [--format dot|mermaid] [--kubeconfig FILE] [--context NAME]

Prints the service graph of the live Microservices: who calls whom (spec.connections),
which services are isolated (spec.network), which connections are unresolved (dashed,
red), and which service owns which database. Render DOT with Graphviz, e.g.
  kubectl kubeship graph -A | dot -Tpng -o shop.png
`

// ErrUsage is returned for a wrong command line, after the usage was printed.
var ErrUsage = errors.New("wrong usage")

// Run runs the plugin with args (without the program name), printing to out.
func Run(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] != "graph" {
		fmt.Fprint(errOut, usage)
		return ErrUsage
	}
	fs := flag.NewFlagSet("graph", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() { fmt.Fprint(errOut, usage) }
	var namespace, format, kubeconfig, kubeContext string
	var all bool
	fs.StringVar(&namespace, "n", "", "namespace to draw (default: the context's namespace)")
	fs.StringVar(&namespace, "namespace", "", "namespace to draw (default: the context's namespace)")
	fs.BoolVar(&all, "A", false, "draw every namespace")
	fs.BoolVar(&all, "all-namespaces", false, "draw every namespace")
	fs.StringVar(&format, "format", "dot", "output format: dot or mermaid")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&kubeContext, "context", "", "kubeconfig context")
	if err := fs.Parse(args[1:]); err != nil {
		return ErrUsage
	}
	if format != "dot" && format != "mermaid" {
		return fmt.Errorf("--format %q: want dot or mermaid", format)
	}
	if all && namespace != "" {
		return errors.New("-n and -A exclude each other")
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	if namespace == "" && !all {
		ns, _, err := cc.Namespace()
		if err != nil {
			return fmt.Errorf("reading the kubeconfig's namespace: %w", err)
		}
		namespace = ns
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return fmt.Errorf("reading the kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	g, err := Read(ctx, c, namespace)
	if err != nil {
		return err
	}
	if format == "mermaid" {
		_, err = io.WriteString(out, graph.Mermaid(g))
	} else {
		_, err = io.WriteString(out, graph.DOT(g))
	}
	return err
}

// Read lists the Microservices in namespace ("" for all) and reads the callees they
// name outside it, then builds their graph.
func Read(ctx context.Context, c client.Reader, namespace string) (graph.Graph, error) {
	list := &v1alpha1.MicroserviceList{}
	if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return graph.Graph{}, fmt.Errorf("listing Microservices: %w", err)
	}
	outside := map[types.NamespacedName]*v1alpha1.Microservice{}
	unreadable := map[types.NamespacedName]bool{}
	for i := range list.Items {
		ms := &list.Items[i]
		for _, conn := range ms.Spec.Connections {
			key := resources.CalleeKey(ms, conn)
			if namespace == "" || key.Namespace == namespace {
				continue
			}
			if _, seen := outside[key]; seen || unreadable[key] {
				continue
			}
			callee := &v1alpha1.Microservice{}
			switch err := c.Get(ctx, key, callee); {
			case err == nil:
				outside[key] = callee
			case apierrors.IsNotFound(err):
				// Missing: Build reports it.
			default:
				unreadable[key] = true
			}
		}
	}
	return graph.Build(list.Items, outside, unreadable), nil
}
