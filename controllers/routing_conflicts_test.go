package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

func claimant(ns, name string, created int64, routes ...v1alpha1.Route) v1alpha1.Microservice {
	return v1alpha1.Microservice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), CreationTimestamp: metav1.NewTime(time.Unix(created, 0))},
		Spec:       v1alpha1.MicroserviceSpec{Routes: routes},
	}
}

func TestResolveConflicts(t *testing.T) {
	nginx := ptr.To("nginx")
	api := v1alpha1.Route{Host: "shop.example.com", Path: "/api", IngressClassName: nginx}
	root := v1alpha1.Route{Host: "shop.example.com", IngressClassName: nginx}
	other := v1alpha1.Route{Host: "shop.example.com", Path: "/other", IngressClassName: nginx}
	apiKey := resources.RouteKey{Host: "shop.example.com", Path: "/api"}
	rootKey := resources.RouteKey{Host: "shop.example.com", Path: "/"}
	ms := claimant("b", "mid", 100, api, root)
	deleting := claimant("a", "deleting", 1, api)
	deleting.DeletionTimestamp = ptr.To(metav1.NewTime(time.Unix(200, 0)))
	cases := []struct {
		name   string
		others []v1alpha1.Microservice
		want   routeConflicts
	}{
		{"itself and other paths are no conflict", []v1alpha1.Microservice{ms, claimant("x", "y", 1, other)}, routeConflicts{}},
		{"an older claimant keeps the pair", []v1alpha1.Microservice{claimant("z", "old", 50, api)},
			routeConflicts{lost: map[resources.RouteKey][]string{apiKey: {"z/old"}}}},
		{"a younger claimant does not get it", []v1alpha1.Microservice{claimant("a", "young", 150, root)},
			routeConflicts{kept: map[resources.RouteKey][]string{rootKey: {"a/young"}}}},
		{"same second: namespace, then name decides", []v1alpha1.Microservice{claimant("a", "zzz", 100, api), claimant("b", "aaa", 100, root), claimant("c", "aaa", 100, root)},
			routeConflicts{lost: map[resources.RouteKey][]string{apiKey: {"a/zzz"}, rootKey: {"b/aaa"}}, kept: map[resources.RouteKey][]string{rootKey: {"c/aaa"}}}},
		{"a service being deleted frees its pairs", []v1alpha1.Microservice{deleting}, routeConflicts{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := resolveConflicts(&ms, tc.others)
			norm := func(m map[resources.RouteKey][]string) map[resources.RouteKey][]string {
				if len(m) == 0 {
					return nil
				}
				return m
			}
			if diff := cmp.Diff(tc.want.lost, norm(got.lost)); diff != "" {
				t.Errorf("lost (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want.kept, norm(got.kept)); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
		})
	}
}

// Both sides of a conflict must pick the same winner, whichever reconciles first.
func TestOlderClaimIsAStrictOrder(t *testing.T) {
	a, b := claimant("a", "x", 100, v1alpha1.Route{}), claimant("a", "y", 100, v1alpha1.Route{})
	if olderClaim(&a, &b) == olderClaim(&b, &a) {
		t.Fatal("both or neither win")
	}
}

func TestServableRoutes(t *testing.T) {
	gw := &v1alpha1.GatewayRef{Name: "edge"}
	ms := claimant("b", "mid", 100,
		v1alpha1.Route{Host: "a.example.com", Path: "/api", GatewayRef: gw}, v1alpha1.Route{Host: "a.example.com", Path: "/web", GatewayRef: gw},
		v1alpha1.Route{Host: "b.example.com", Path: "/api", GatewayRef: gw}, v1alpha1.Route{Host: "b.example.com", Path: "/web", GatewayRef: gw})
	lost := map[resources.RouteKey][]string{{Host: "a.example.com", Path: "/api"}: {"z/old"}}
	got := servableRoutes(&ms, lost)
	hosts := make([]string, 0, len(got))
	for _, r := range got {
		hosts = append(hosts, r.Host+r.Path)
	}
	if diff := cmp.Diff([]string{"b.example.com/api", "b.example.com/web"}, hosts); diff != "" {
		t.Errorf("an HTTPRoute drops the whole host of a lost pair (-want +got):\n%s", diff)
	}
	for i := range ms.Spec.Routes {
		ms.Spec.Routes[i].GatewayRef, ms.Spec.Routes[i].IngressClassName = nil, ptr.To("nginx")
	}
	if got := servableRoutes(&ms, lost); len(got) != 3 {
		t.Errorf("an Ingress drops only the lost pair: %v", got)
	}
}
