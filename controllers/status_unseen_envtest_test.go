package controllers

import (
	"context"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// A pass woken by a child's event a moment after its own status write, before the cache
// has that write, reads the write, not the stale copy: it neither repeats the write nor
// sends one that the API server refuses as a conflict. The cache here lags on purpose:
// it keeps the Microservice as it was before the first status write for the whole test.
func TestPassReadsItsOwnStatusWriteBeforeTheCacheHasIt(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newDrivenNamespace(t), "lagging")
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)

	lagging := &laggingCache{Client: k8s}
	counter := &statusWriteCounter{Client: lagging}
	r := &MicroserviceReconciler{Client: client.WithFieldOwner(counter, FieldOwner), APIReader: k8s, unseen: newUnseenStatuses()}
	pass := func() ctrl.Result {
		res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
		g.Expect(err).NotTo(HaveOccurred())
		return res
	}
	stored := func() *v1alpha1.Microservice {
		got := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
		return got
	}

	lagging.freeze(ctx, g, key)
	g.Expect(pass()).To(Equal(ctrl.Result{}))
	g.Expect(counter.statusWrites.Load()).To(Equal(int64(1)), "the first status")
	first := stored()
	g.Expect(meta.FindStatusCondition(first.Status.Conditions, v1alpha1.ConditionReady)).To(HaveField("Status", metav1.ConditionFalse))

	// A child's event, nothing changed: the pass has nothing to write.
	g.Expect(pass()).To(Equal(ctrl.Result{}), "a pass against the stale cache asked to be retried (a conflict)")
	g.Expect(counter.statusWrites.Load()).To(Equal(int64(1)), "the pass wrote its own last status again")
	g.Expect(stored().ResourceVersion).To(Equal(first.ResourceVersion))

	// The rollout finishes, the cache still lags: Ready is written at once, over the first
	// write, without a conflict.
	markDeploymentRolledOut(t, ctx, key)
	g.Expect(pass()).To(Equal(ctrl.Result{}), "the Ready write met a conflict")
	g.Expect(counter.statusWrites.Load()).To(Equal(int64(2)))
	g.Expect(meta.FindStatusCondition(stored().Status.Conditions, v1alpha1.ConditionReady)).To(HaveField("Status", metav1.ConditionTrue))
	g.Expect(pass()).To(Equal(ctrl.Result{}))
	g.Expect(counter.statusWrites.Load()).To(Equal(int64(2)), "the pass wrote Ready again")

	// Someone else changes the status while the cache lags. The pass, which has not seen
	// that change, writes nothing over it; once the cache has it, a pass restores the
	// status from what it sees.
	other := stored()
	other.Status.Conditions = nil
	g.Expect(k8s.Status().Update(ctx, other)).To(Succeed())
	g.Expect(pass()).To(Equal(ctrl.Result{}))
	g.Expect(stored().Status.Conditions).To(BeEmpty(), "a pass wrote over a change it never saw")
	lagging.thaw(key)
	r.unseen.cacheMoved(stored())
	g.Expect(pass()).To(Equal(ctrl.Result{}))
	g.Expect(meta.FindStatusCondition(stored().Status.Conditions, v1alpha1.ConditionReady)).To(HaveField("Status", metav1.ConditionTrue))
	g.Expect(r.unseen.byKey).To(BeEmpty(), "a write the cache has seen is still held")
}

// laggingCache reads through to the API server, except for frozen Microservices: those
// it returns as they were when frozen, as a cache whose watch is behind would.
type laggingCache struct {
	client.Client
	mu     sync.Mutex
	frozen map[client.ObjectKey]*v1alpha1.Microservice
}

func (c *laggingCache) freeze(ctx context.Context, g Gomega, key client.ObjectKey) {
	ms := &v1alpha1.Microservice{}
	g.Expect(c.Client.Get(ctx, key, ms)).To(Succeed())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen == nil {
		c.frozen = map[client.ObjectKey]*v1alpha1.Microservice{}
	}
	c.frozen[key] = ms
}

func (c *laggingCache) thaw(key client.ObjectKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.frozen, key)
}

func (c *laggingCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.mu.Lock()
	ms, ok := c.frozen[key]
	c.mu.Unlock()
	if out, isMS := obj.(*v1alpha1.Microservice); ok && isMS {
		ms.DeepCopyInto(out)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}
