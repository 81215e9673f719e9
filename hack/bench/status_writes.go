package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// statusWrites records, from a watch on a mix's Microservices, what each status write
// changed, by kind of service: the reasons behind the status writes per Microservice.
type statusWrites struct {
	m  mix
	mu sync.Mutex
	// last is the status each Microservice had at the resourceVersion seen last.
	last map[string]seenStatus
	// changes counts, per kind, the writes by what they changed.
	changes map[kind]map[string]int
}

type seenStatus struct {
	resourceVersion string
	status          v1alpha1.MicroserviceStatus
}

func newStatusWrites(m mix) *statusWrites {
	return &statusWrites{m: m, last: map[string]seenStatus{}, changes: map[kind]map[string]int{}}
}

// observe takes one version of a Microservice from the watch; a nil s records nothing.
func (s *statusWrites) observe(ms *v1alpha1.Microservice) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, seen := s.last[ms.Name]
	if seen && prev.resourceVersion == ms.ResourceVersion {
		return // an informer's relist delivers what it had again
	}
	s.last[ms.Name] = seenStatus{resourceVersion: ms.ResourceVersion, status: *ms.Status.DeepCopy()}
	if equality.Semantic.DeepEqual(prev.status, ms.Status) {
		return // a change of spec or metadata, or the creation
	}
	k := s.kindOf(ms.Name)
	if s.changes[k] == nil {
		s.changes[k] = map[string]int{}
	}
	s.changes[k][statusChange(prev.status.Conditions, ms.Status.Conditions)]++
}

// kindOf is the kind of the service called svc-<i> in the mix.
func (s *statusWrites) kindOf(name string) kind {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "svc-"))
	if err != nil {
		return kind("unknown")
	}
	return s.m.kind(i)
}

// statusChange says what a status write changed in the conditions: the first status
// by its Ready reason, later ones by each condition whose status, reason or message
// moved, Ready first.
func statusChange(before, after []metav1.Condition) string {
	if len(before) == 0 {
		ready := meta.FindStatusCondition(after, v1alpha1.ConditionReady)
		if ready == nil {
			return "first status, no Ready"
		}
		return "first status (Ready " + ready.Reason + ")"
	}
	var parts []string
	for _, c := range after {
		o := meta.FindStatusCondition(before, c.Type)
		var part string
		switch {
		case o == nil:
			part = c.Type + " added (" + c.Reason + ")"
		case o.Status != c.Status || o.Reason != c.Reason:
			part = c.Type + " " + o.Reason + " to " + c.Reason
		case o.Message != c.Message:
			part = c.Type + " message (" + c.Reason + ")"
		case o.ObservedGeneration != c.ObservedGeneration:
			part = c.Type + " generation"
		default:
			continue
		}
		if c.Type == v1alpha1.ConditionReady {
			parts = append([]string{part}, parts...)
		} else {
			parts = append(parts, part)
		}
	}
	for _, o := range before {
		if meta.FindStatusCondition(after, o.Type) == nil {
			parts = append(parts, o.Type+" removed")
		}
	}
	if len(parts) == 0 {
		return "other status fields"
	}
	return strings.Join(parts, ", ")
}

// statusWriteSummary is the writes of one kind of service.
type statusWriteSummary struct {
	kind     kind
	services int
	// changes, most frequent first, as "what (count)".
	changes []string
	total   int
}

// summary lists, per kind of service in the mix's order, the status writes per
// Microservice and what they changed; counts is how many services of each kind ran.
func (s *statusWrites) summary(counts map[kind]int) []statusWriteSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []statusWriteSummary
	for _, k := range []kind{kindStatic, kindAutoscaled, kindDedicated, kindShared} {
		if counts[k] == 0 {
			continue
		}
		sum := statusWriteSummary{kind: k, services: counts[k]}
		type change struct {
			what  string
			count int
		}
		var list []change
		for what, c := range s.changes[k] {
			list = append(list, change{what, c})
			sum.total += c
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].count != list[j].count {
				return list[i].count > list[j].count
			}
			return list[i].what < list[j].what
		})
		for _, c := range list {
			sum.changes = append(sum.changes, fmt.Sprintf("%s (%d)", c.what, c.count))
		}
		out = append(out, sum)
	}
	return out
}
