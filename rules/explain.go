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

// Markdown renders one rule's documentation as Markdown with a heading
// of the given level; SARIF's rule help uses the same text.
func Markdown(r *analyzer.Rule, level int) string {
	var b strings.Builder
	d := r.Doc
	h := strings.Repeat("#", level)
	fmt.Fprintf(&b, "<a id=\"%s\"></a>\n%s %s `%s`: %s\n\n", strings.ToLower(r.ID), h, r.ID, r.Slug, d.Title)
	fmt.Fprintf(&b, "- Severity: %s\n", r.Severity)
	if d.Affected != "" {
		fmt.Fprintf(&b, "- Affected versions: %s\n", d.Affected)
	}
	if d.Fixed != "" {
		fmt.Fprintf(&b, "- Fixed in: %s\n", d.Fixed)
	}
	if d.Since != "" {
		fmt.Fprintf(&b, "- Since ngxlint %s\n", d.Since)
	}
	b.WriteString("\n")
	if t := strings.TrimSpace(d.Text); t != "" {
		b.WriteString(t + "\n\n")
	}
	fence := func(title, code string) {
		if code == "" {
			return
		}
		fmt.Fprintf(&b, "%s:\n\n```nginx\n%s\n```\n\n", title, strings.TrimRight(code, "\n"))
	}
	fence("Bad", d.Bad)
	fence("Good", d.Good)
	if d.Good == "" && d.GoodExample() != "" {
		b.WriteString("Good: the same configuration on the fixed versions.\n\n")
	}
	if d.Versions != "" {
		fmt.Fprintf(&b, "The examples are checked with `%s`.\n\n", d.Versions)
	}
	if c := strings.TrimSpace(d.Confirmation); c != "" {
		fmt.Fprintf(&b, "Confirmation: %s\n\n", c)
	}
	if len(d.References) > 0 {
		b.WriteString("References:\n\n")
		for _, ref := range d.References {
			fmt.Fprintf(&b, "- %s\n", ref)
		}
		b.WriteString("\n")
	}
	return b.String()
}
