package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	markDeploymentRolledOut(t, ctx, key)

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
	g.Eventually(func(g Gomega) {
		got := reasons(g)
		g.Expect(got).To(HaveKeyWithValue(EventCreated, 1))
		g.Expect(got).To(HaveKeyWithValue(EventRolloutStarted, 1))
		g.Expect(got).To(HaveKey(EventRolloutFinished))
	}, timeout, interval).Should(Succeed())
}
