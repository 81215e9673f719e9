package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
)

// requestCounts is apiserver_request_total summed by "VERB resource[/subresource]", for
// every client: the bench, the manager, the controller manager, the scheduler, KWOK.
type requestCounts = tally

// readRequests scrapes kube-apiserver's request counters.
func (b *bench) readRequests(ctx context.Context) (requestCounts, error) {
	raw, err := b.cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading kube-apiserver metrics: %w", err)
	}
	s, err := parseMetrics(strings.NewReader(string(raw)))
	if err != nil {
		return nil, err
	}
	return s.requestsByResource(), nil
}

func (s samples) requestsByResource() requestCounts {
	out := requestCounts{}
	f, ok := s["apiserver_request_total"]
	if !ok {
		return out
	}
	for _, m := range f.GetMetric() {
		l := labelsOf(m)
		res := l["resource"]
		if l["subresource"] != "" {
			res += "/" + l["subresource"]
		}
		if res == "" {
			// Discovery, /metrics, /healthz and the like.
			continue
		}
		out[l["verb"]+" "+res] += m.GetCounter().GetValue()
	}
	return out
}

// requestDelta is one kind of request and how many of it each side's fleet cost.
type requestDelta struct {
	key             string
	floor, kubeship float64
}

// largestDeltas are the kinds of request whose counts differ most between the two
// sides (per service), at most limit of them, the largest difference first; kinds
// neither side made at least once per 100 services are left out.
func largestDeltas(floor, kubeship requestCounts, services float64, limit int) []requestDelta {
	keys := map[string]bool{}
	for k := range floor {
		keys[k] = true
	}
	for k := range kubeship {
		keys[k] = true
	}
	var out []requestDelta
	for k := range keys {
		d := requestDelta{key: k, floor: floor[k] / services, kubeship: kubeship[k] / services}
		if math.Abs(d.kubeship-d.floor) < 0.01 {
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := math.Abs(out[i].kubeship-out[i].floor), math.Abs(out[j].kubeship-out[j].floor)
		if di != dj {
			return di > dj
		}
		return out[i].key < out[j].key
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
