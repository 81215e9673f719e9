//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sumSamples parses a /metrics page in the Prometheus text format and sums the values
// of family name's counters, gauges and untyped samples whose labels include those of
// selector, written as inside braces: `controller="microservice",result="success"`.
func sumSamples(page io.Reader, name, selector string) (float64, error) {
	want, err := parseSelector(selector)
	if err != nil {
		return 0, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(page)
	if err != nil {
		return 0, fmt.Errorf("parsing the metrics: %w", err)
	}
	var sum float64
	for _, m := range families[name].GetMetric() {
		got := map[string]string{} // m's values of the labels in want
		for _, l := range m.GetLabel() {
			if _, ok := want[l.GetName()]; ok {
				got[l.GetName()] = l.GetValue()
			}
		}
		if maps.Equal(got, want) {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return sum, nil
}

// parseSelector reads `k="v",...` with the same parser, as the labels of a sample line.
func parseSelector(selector string) (map[string]string, error) {
	if strings.TrimSpace(selector) == "" {
		return map[string]string{}, nil
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader("selector{" + selector + "} 0\n"))
	if err != nil {
		return nil, fmt.Errorf("label selector %q: %w", selector, err)
	}
	want := map[string]string{}
	for _, l := range families["selector"].GetMetric()[0].GetLabel() {
		want[l.GetName()] = l.GetValue()
	}
	return want, nil
}
