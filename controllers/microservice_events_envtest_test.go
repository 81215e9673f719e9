package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// occurrences is how many times e was recorded: the recorder folds a repeat of the same
// reason into the first Event object as a series (Series.Count counts them all), so
// counting objects would miss it.
func occurrences(e eventsv1.Event) int {
	if e.Series != nil {
		return int(e.Series.Count)
	}
	return 1
}

func TestEventsMarkTransitions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "announcer")
	key := createAndWaitForDeployment(g, ctx, ms)

	reasons := func(g Gomega) map[string]int {
		list := &eventsv1.EventList{}
		g.Expect(k8s.List(ctx, list, client.InNamespace(key.Namespace))).To(Succeed())
		got := map[string]int{}
		for _, e := range list.Items {
			if e.Regarding.Name == "announcer" && e.Regarding.Kind == "Microservice" {
				got[e.Reason] += occurrences(e)
				g.Expect(e.ReportingController).NotTo(BeEmpty())
			}
		}
		return got
	}
	// rollOut plays the Deployment controller through a rollout that passes two waiting
	// reasons: the new generation not yet observed, then pods being replaced. Ready's
	// reason changes between them, and RolloutStarted must still be recorded only once
	// per rollout (and not at all for the first: see transitionEvents).
	rollOut := func() {
		g.Eventually(func(g Gomega) {
			g.Expect(readyOf(g, ctx, key).Reason).To(Equal(v1alpha1.ReasonObservedGenerationStale))
		}, timeout, interval).Should(Succeed())
		g.Eventually(func(g Gomega) {
			d := getDeployment(g, ctx, key)
			d.Status.ObservedGeneration, d.Status.Replicas, d.Status.UpdatedReplicas = d.Generation, 2, 1
			g.Expect(k8s.Status().Update(ctx, d)).To(Succeed())
		}, timeout, interval).Should(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(readyOf(g, ctx, key).Reason).To(Equal(v1alpha1.ReasonRolloutInProgress))
		}, timeout, interval).Should(Succeed())
		markDeploymentRolledOut(t, ctx, key)
	}

	// A new Microservice's first convergence is the expected path: it records no Event.
	rollOut()
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, ctx, key).Status).To(Equal(metav1.ConditionTrue))
	}, timeout, interval).Should(Succeed())
	g.Consistently(reasons, 2*time.Second, interval).Should(BeEmpty())

	// A second rollout records its start and its end. The recorder folds each repeat
	// into the first Event of its reason as a series, so only counting series sees them.
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) { ms.Spec.Image = "ghcr.io/acme/announcer:2" })
	rollOut()
	g.Eventually(func(g Gomega) {
		got := reasons(g)
		g.Expect(got).To(HaveKeyWithValue(EventRolloutStarted, 1))
		g.Expect(got).To(HaveKeyWithValue(EventRolloutFinished, 1))
	}, timeout, interval).Should(Succeed())
	g.Expect(reasons(g)).NotTo(HaveKey(EventCreated))

	// A child someone deleted is made again, and that is recorded.
	g.Expect(k8s.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(reasons(g)).To(HaveKeyWithValue(EventCreated, 1))
	}, timeout, interval).Should(Succeed())
}
