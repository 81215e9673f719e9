package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// A cache built with watched namespaces, against the real API server: Microservices and
// their children are seen in the watched namespace only; DatabaseServers (cluster-scoped)
// are still seen.
func TestCacheWatchesOnlyListedNamespaces(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watched, other := newNamespace(t), newNamespace(t)
	for _, ns := range []string{watched, other} {
		ms := &v1alpha1.Microservice{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec:       v1alpha1.MicroserviceSpec{Image: "ghcr.io/acme/web:1"},
		}
		g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	}
	server := &v1alpha1.DatabaseServer{
		ObjectMeta: metav1.ObjectMeta{Name: "srv-" + watched},
		Spec: v1alpha1.DatabaseServerSpec{
			Engine: v1alpha1.DatabaseEngine("postgres"), Host: "127.0.0.1", Port: 5432,
			AdminSecretRef: v1alpha1.SecretReference{Namespace: watched, Name: "admin"},
		},
	}
	g.Expect(k8s.Create(ctx, server)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), server) })

	opts := CacheOptions(watched)
	opts.Scheme = testScheme
	c, err := cache.New(restConfig, opts)
	g.Expect(err).NotTo(HaveOccurred())
	go func() { _ = c.Start(ctx) }()
	g.Expect(c.WaitForCacheSync(ctx)).To(BeTrue())

	g.Eventually(func(g Gomega) {
		var list v1alpha1.MicroserviceList
		g.Expect(c.List(ctx, &list)).To(Succeed())
		g.Expect(keys(list.Items)).To(ConsistOf(watched + "/web"))
	}, timeout, interval).Should(Succeed())
	// The test manager (all namespaces) makes both Deployments; the cache sees one.
	g.Eventually(func(g Gomega) {
		var all appsv1.DeploymentList
		g.Expect(k8s.List(ctx, &all, client.InNamespace(other))).To(Succeed())
		g.Expect(all.Items).NotTo(BeEmpty())
		var list appsv1.DeploymentList
		g.Expect(c.List(ctx, &list)).To(Succeed())
		g.Expect(keys(list.Items)).To(ConsistOf(watched + "/web"))
	}, timeout, interval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		var servers v1alpha1.DatabaseServerList
		g.Expect(c.List(ctx, &servers)).To(Succeed())
		g.Expect(keys(servers.Items)).To(ContainElement("/" + server.Name))
	}, timeout, interval).Should(Succeed())
}

// keys names objects as namespace/name.
func keys[T any, P interface {
	*T
	client.Object
}](items []T) []string {
	out := make([]string, 0, len(items))
	for i := range items {
		o := P(&items[i])
		out = append(out, o.GetNamespace()+"/"+o.GetName())
	}
	return out
}

// Through the manager's cache: the children of a live service share its maps, an object
// read from the cache is a copy whose edits reach no sibling, and once the service is
// deleted the table lets its maps go.
func TestSiblingMapsFollowTheService(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "siblings")
	key := createAndWaitForDeployment(g, ctx, ms)
	held := func() bool {
		siblingMaps.mu.Lock()
		defer siblingMaps.mu.Unlock()
		_, ok := siblingMaps.byMS[key]
		return ok
	}
	g.Eventually(held, timeout, interval).Should(BeTrue())

	var d appsv1.Deployment
	g.Eventually(func() error { return mgrClient.Get(ctx, key, &d) }, timeout, interval).Should(Succeed())
	d.Labels["edited"] = "in a copy"
	d.Spec.Template.Labels["edited"] = "in a copy"
	var svc corev1.Service
	g.Eventually(func() error { return mgrClient.Get(ctx, key, &svc) }, timeout, interval).Should(Succeed())
	g.Expect(svc.Labels).NotTo(HaveKey("edited"))
	var again appsv1.Deployment
	g.Expect(mgrClient.Get(ctx, key, &again)).To(Succeed())
	g.Expect(again.Labels).NotTo(HaveKey("edited"))
	g.Expect(again.Spec.Template.Labels).NotTo(HaveKey("edited"))

	g.Expect(k8s.Delete(ctx, ms)).To(Succeed())
	g.Eventually(held, timeout, interval).Should(BeFalse(), "a deleted service's maps are still held")
}
