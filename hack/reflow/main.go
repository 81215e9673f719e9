// Command reflow rewrites the descriptions in generated CRDs so that each paragraph is
// one line. controller-gen keeps the line breaks of the Go doc comments, and kubectl
// explain wraps text itself, so the kept breaks leave ragged lines ("runs\n at\n least").
//
//	go run ./hack/reflow config/crd/bases/*.yaml
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	for _, path := range os.Args[1:] {
		if err := reflowFile(path); err != nil {
			fmt.Fprintf(os.Stderr, "reflow %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func reflowFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// controller-gen writes one document after a "---" line.
	body := bytes.TrimPrefix(raw, []byte("---\n"))
	var doc map[string]any
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return err
	}
	walk(doc)
	out, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

// walk reflows every "description" string below v.
func walk(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if s, ok := child.(string); ok && k == "description" {
				t[k] = reflow(s)
				continue
			}
			walk(child)
		}
	case []any:
		for _, child := range t {
			walk(child)
		}
	}
}

// reflow joins the lines of each paragraph; blank lines, list items and indented
// lines keep their breaks.
func reflow(s string) string {
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, line := range lines {
		if i > 0 {
			prev := lines[i-1]
			if line == "" || prev == "" || strings.HasPrefix(line, "-") || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "*") || strings.HasPrefix(prev, " ") {
				b.WriteString("\n")
			} else {
				b.WriteString(" ")
			}
		}
		b.WriteString(line)
	}
	return b.String()
}
