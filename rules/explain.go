package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
)

// Explain renders a rule's documentation for `ngxlint explain`.
func Explain(r *analyzer.Rule) string {
	var b strings.Builder
	d := r.Doc
	fmt.Fprintf(&b, "%s %s: %s\n", r.ID, r.Slug, d.Title)
	fmt.Fprintf(&b, "Severity: %s\n", r.Severity)
	if d.Affected != "" {
		fmt.Fprintf(&b, "Affected: %s\n", d.Affected)
	}
	if d.Fixed != "" {
		fmt.Fprintf(&b, "Fixed in: %s\n", d.Fixed)
	}
	fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(d.Text))
	if d.Confirmation != "" {
		fmt.Fprintf(&b, "\nConfirmation: %s\n", strings.TrimSpace(d.Confirmation))
	}
	if d.Bad != "" {
		fmt.Fprintf(&b, "\nBad:\n%s\n", indent(d.Bad))
	}
	if d.Good != "" {
		fmt.Fprintf(&b, "\nGood:\n%s\n", indent(d.Good))
	} else if d.GoodExample() != "" {
		fmt.Fprintf(&b, "\nGood: the same configuration on the fixed versions (%s).\n", d.Versions)
	}
	if d.Versions != "" {
		fmt.Fprintf(&b, "\nExamples checked with: %s\n", d.Versions)
	}
	if len(d.References) > 0 {
		fmt.Fprintf(&b, "\nReferences:\n")
		for _, ref := range d.References {
			fmt.Fprintf(&b, "  - %s\n", ref)
		}
	}
	return b.String()
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "    " + l
		}
	}
	return strings.Join(lines, "\n")
}
