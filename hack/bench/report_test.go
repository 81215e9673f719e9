package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[int]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 1: time.Millisecond} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%d = %s, want %s", p, got, want)
		}
	}
}

// The writes attributed to kubeship are those no other component of the bench cluster
// makes; the controller manager's and KWOK's status writes and core Events are not.
func TestKubeshipWrites(t *testing.T) {
	text := `# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="",verb="APPLY",version="v1"} 10
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="status",verb="PUT",version="v1"} 40
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps.kubeship.dev",resource="microservices",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 20
apiserver_request_total{code="201",component="apiserver",dry_run="All",group="apps.kubeship.dev",resource="microservices",scope="resource",subresource="",verb="POST",version="v1alpha1"} 5
apiserver_request_total{code="201",component="apiserver",dry_run="",group="apps.kubeship.dev",resource="microservices",scope="resource",subresource="",verb="POST",version="v1alpha1"} 5
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps.kubeship.dev",resource="microservices",scope="resource",subresource="",verb="GET",version="v1alpha1"} 7
apiserver_request_total{code="201",component="apiserver",dry_run="",group="events.k8s.io",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 3
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 30
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PATCH",version="v1"} 90
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="PATCH",version="v1"} 4
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="persistentvolumeclaims",scope="resource",subresource="",verb="PUT",version="v1"} 6
`
	s, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"APPLY deployments": 10, "PATCH microservices/status": 20, "POST secrets": 2, "PATCH secrets": 4,
	}
	if diff := cmp.Diff(want, s.kubeshipWrites()); diff != "" {
		t.Errorf("kubeshipWrites (-want +got):\n%s", diff)
	}
}

func TestSinceCountsTheManagersRequests(t *testing.T) {
	parse := func(text string) samples {
		s, err := parseMetrics(strings.NewReader("# TYPE rest_client_requests_total counter\n" + text))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := snapshot{mgr: parse(`rest_client_requests_total{code="200",host="h",method="GET"} 5
rest_client_requests_total{code="200",host="h",method="PATCH"} 1
`), api: samples{}}
	after := snapshot{mgr: parse(`rest_client_requests_total{code="200",host="h",method="GET"} 9
rest_client_requests_total{code="200",host="h",method="PATCH"} 7
rest_client_requests_total{code="409",host="h",method="PATCH"} 1
rest_client_requests_total{code="201",host="h",method="POST"} 2
`), api: samples{}}
	c := after.since(before)
	if diff := cmp.Diff(map[string]float64{"GET": 4, "PATCH": 7, "POST": 2}, c.byMethod); diff != "" {
		t.Errorf("byMethod (-want +got):\n%s", diff)
	}
	if c.writes() != 9 {
		t.Errorf("writes = %v, want 9", c.writes())
	}
}

func TestMinimumWrites(t *testing.T) {
	m, err := mixNamed("realistic")
	if err != nil {
		t.Fatal(err)
	}
	res := &mixResult{n: 20, counts: map[kind]int{}}
	for _, k := range []kind{kindStatic, kindAutoscaled, kindDedicated, kindShared} {
		res.counts[k] = m.count(20, k)
	}
	// 8 static x 5, 6 autoscaled x 6, 3 dedicated x 9, 3 shared x 6, over 20.
	if got, want := res.minimumWrites(), float64(8*5+6*6+3*9+3*6)/20; got != want {
		t.Errorf("minimumWrites = %v, want %v", got, want)
	}
}

func TestConditionChanges(t *testing.T) {
	ms := func(name string, conds ...metav1.Condition) v1alpha1.Microservice {
		m := v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		m.Status.Conditions = conds
		return m
	}
	c := func(t, reason, msg string, s metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: t, Reason: reason, Message: msg, Status: s}
	}
	before := []v1alpha1.Microservice{
		ms("same", c("Ready", "Ready", "ok", "True")),
		ms("flipped", c("ScalingActive", "FailedGetResourceMetric", "no metrics", "False")),
		ms("reworded", c("Ready", "Ready", "ok", "True")),
	}
	now := []v1alpha1.Microservice{
		ms("same", c("Ready", "Ready", "ok", "True")),
		ms("flipped", c("ScalingActive", "ValidMetricFound", "metrics", "True")),
		ms("reworded", c("Ready", "Ready", "fine", "True"), c("Routed", "Accepted", "", "True")),
		ms("new", c("Ready", "Ready", "ok", "True")),
	}
	want := map[string]int{
		"ScalingActive: FailedGetResourceMetric to ValidMetricFound": 1,
		"Ready: message of Ready":                                    1,
		"Routed: added Accepted":                                     1,
	}
	if diff := cmp.Diff(want, conditionChanges(before, now)); diff != "" {
		t.Errorf("conditionChanges (-want +got):\n%s", diff)
	}
}

func TestRoundsAreAveragedAndListedInTheOrderRun(t *testing.T) {
	m := &mixResult{rounds: []round{
		{floor: 80 * time.Second, kubeship: 100 * time.Second, floorWritten: 9 * time.Second, kubeshipWritten: 60 * time.Second,
			floorQuiet: quiet{waited: 2 * time.Second, cores: 0.12}, kubeshipQuiet: quiet{waited: 14 * time.Second, cores: 0.25},
			floorCPU: processCPU{"etcd": 10, "kube-apiserver": 90}, kubeshipCPU: processCPU{"etcd": 12, "kube-apiserver": 100, "manager": 14}},
		{floor: 100 * time.Second, kubeship: 110 * time.Second, kubeshipFirst: true, floorWritten: 11 * time.Second, kubeshipWritten: 70 * time.Second,
			floorQuiet: quiet{waited: 180 * time.Second, cores: 0.61}, kubeshipQuiet: quiet{waited: 4 * time.Second, cores: 0.2},
			floorCPU: processCPU{"etcd": 14, "kube-apiserver": 110}, kubeshipCPU: processCPU{"etcd": 16, "kube-apiserver": 120, "manager": 16}},
	}}
	floor, kubeship := m.meanTimes()
	if floor != 90*time.Second || kubeship != 105*time.Second {
		t.Errorf("means = %s, %s; want 1m30s, 1m45s", floor, kubeship)
	}
	want := []string{
		"floor 80.0 s (written by 9.0 s; quiet after 2 s at 0.12 cores), kubeship 100.0 s (written by 60.0 s; quiet after 14 s at 0.25 cores) (1.25)",
		"kubeship 110.0 s (written by 70.0 s; quiet after 4 s at 0.20 cores), floor 100.0 s (written by 11.0 s; quiet after 180 s at 0.61 cores) (1.10)",
	}
	if diff := cmp.Diff(want, m.roundParts()); diff != "" {
		t.Errorf("roundParts (-want +got):\n%s", diff)
	}
	floorCPU, kubeshipCPU := m.meanCPU()
	wantFloor, wantKubeship := processCPU{"etcd": 12, "kube-apiserver": 100}, processCPU{"etcd": 14, "kube-apiserver": 110, "manager": 15}
	if diff := cmp.Diff(wantFloor, floorCPU); diff != "" {
		t.Errorf("meanCPU floor (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantKubeship, kubeshipCPU); diff != "" {
		t.Errorf("meanCPU kubeship (-want +got):\n%s", diff)
	}
}

func TestLargestDeltas(t *testing.T) {
	floor := requestCounts{"APPLY deployments": 1000, "PUT pods/status": 4000, "GET leases": 50}
	kubeship := requestCounts{"APPLY deployments": 1000, "PUT pods/status": 4100, "GET deployments": 3000, "PATCH microservices/status": 2000, "GET leases": 52}
	got := largestDeltas(floor, kubeship, 1000, 2)
	want := []requestDelta{
		{key: "GET deployments", floor: 0, kubeship: 3},
		{key: "PATCH microservices/status", floor: 0, kubeship: 2},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(requestDelta{})); diff != "" {
		t.Errorf("largestDeltas (-want +got):\n%s", diff)
	}
	if all := largestDeltas(floor, kubeship, 1000, 10); len(all) != 3 || all[2].key != "PUT pods/status" {
		t.Errorf("largestDeltas without a limit = %+v; want the pod status updates third and the equal and tiny differences left out", all)
	}
}
