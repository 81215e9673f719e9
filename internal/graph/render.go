package graph

import (
	"fmt"
	"strings"
)

// Colours of the picture: isolated services are green, missing callees and unresolved
// connections red and dashed, databases grey cylinders.
const (
	colourIsolated = "#d9f2d9"
	colourPlain    = "#ffffff"
	colourOutside  = "#eeeeee"
	colourMissing  = "#cc0000"
	colourDatabase = "#e6e6e6"
)

// isolation describes a service's isolation for its label, "" when none.
func isolation(n Node) string {
	switch {
	case n.IngressIsolated && n.EgressIsolated:
		return "isolated: ingress, egress"
	case n.IngressIsolated:
		return "isolated: ingress"
	case n.EgressIsolated:
		return "isolated: egress"
	}
	return ""
}

// DOT renders g in Graphviz's language, one cluster per namespace.
func DOT(g Graph) string {
	var b strings.Builder
	b.WriteString("digraph kubeship {\n  rankdir=LR;\n  fontname=\"Helvetica\";\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=\"" + colourPlain + "\", fontname=\"Helvetica\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")
	for _, ns := range namespaces(g) {
		fmt.Fprintf(&b, "  subgraph %q {\n    label=%q;\n    style=dashed;\n", "cluster_"+ns, "namespace "+ns)
		for _, n := range g.Nodes {
			if n.Namespace == ns {
				fmt.Fprintf(&b, "    %q [%s];\n", n.ID, dotNode(n))
			}
		}
		b.WriteString("  }\n")
	}
	for _, e := range g.Edges {
		var attrs []string
		if e.Label != "" {
			attrs = append(attrs, fmt.Sprintf("label=%q", e.Label))
		}
		switch {
		case e.Database:
			attrs = append(attrs, "arrowhead=none", "style=bold", "color=\"#777777\"")
		case e.Unresolved:
			attrs = append(attrs, "style=dashed", "color=\""+colourMissing+"\"", "fontcolor=\""+colourMissing+"\"")
		}
		fmt.Fprintf(&b, "  %q -> %q", e.From, e.To)
		if len(attrs) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(attrs, ", "))
		}
		b.WriteString(";\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func dotNode(n Node) string {
	label := n.Name
	if d := isolation(n); d != "" {
		label += "\n" + d
	}
	if n.Detail != "" {
		label += "\n" + n.Detail
	}
	attrs := []string{fmt.Sprintf("label=%q", label)}
	switch {
	case n.Kind == Database:
		attrs = append(attrs, "shape=cylinder", "style=filled", "fillcolor=\""+colourDatabase+"\"")
	case n.Kind == Missing:
		attrs = append(attrs, "style=\"rounded,dashed\"", "color=\""+colourMissing+"\"", "fontcolor=\""+colourMissing+"\"")
	case isolation(n) != "":
		attrs = append(attrs, "fillcolor=\""+colourIsolated+"\"", "penwidth=2")
	case n.Kind == Outside:
		attrs = append(attrs, "fillcolor=\""+colourOutside+"\"")
	}
	return strings.Join(attrs, ", ")
}

// Mermaid renders g as a Mermaid flowchart, one subgraph per namespace.
func Mermaid(g Graph) string {
	var b strings.Builder
	// Mermaid IDs are the nodes' positions: names may hold characters it reads as syntax.
	ids := map[string]string{}
	for i, n := range g.Nodes {
		ids[n.ID] = fmt.Sprintf("n%d", i)
	}
	b.WriteString("flowchart LR\n")
	for i, ns := range namespaces(g) {
		fmt.Fprintf(&b, "  subgraph ns%d[\"namespace %s\"]\n", i, ns)
		for _, n := range g.Nodes {
			if n.Namespace == ns {
				b.WriteString("    " + mermaidNode(ids[n.ID], n) + "\n")
			}
		}
		b.WriteString("  end\n")
	}
	for _, e := range g.Edges {
		arrow := "-->"
		switch {
		case e.Database:
			arrow = "---"
		case e.Unresolved:
			arrow = "-.->"
		}
		if e.Label != "" {
			arrow += "|" + e.Label + "|"
		}
		fmt.Fprintf(&b, "  %s %s %s\n", ids[e.From], arrow, ids[e.To])
	}
	fmt.Fprintf(&b, "  classDef isolated fill:%s,stroke-width:2px\n", colourIsolated)
	fmt.Fprintf(&b, "  classDef missing stroke:%s,color:%s,stroke-dasharray:5 5\n", colourMissing, colourMissing)
	fmt.Fprintf(&b, "  classDef outside fill:%s\n", colourOutside)
	return b.String()
}

func mermaidNode(id string, n Node) string {
	label := n.Name
	if d := isolation(n); d != "" {
		label += "<br/>" + d
	}
	if n.Detail != "" {
		label += "<br/>" + n.Detail
	}
	switch {
	case n.Kind == Database:
		return fmt.Sprintf("%s[(\"%s\")]", id, label)
	case n.Kind == Missing:
		return fmt.Sprintf("%s[\"%s\"]:::missing", id, label)
	case isolation(n) != "":
		return fmt.Sprintf("%s[\"%s\"]:::isolated", id, label)
	case n.Kind == Outside:
		return fmt.Sprintf("%s[\"%s\"]:::outside", id, label)
	}
	return fmt.Sprintf("%s[\"%s\"]", id, label)
}

// namespaces lists g's namespaces in the order their first node appears.
func namespaces(g Graph) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		if !seen[n.Namespace] {
			seen[n.Namespace] = true
			out = append(out, n.Namespace)
		}
	}
	return out
}
