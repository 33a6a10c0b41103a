package format

import (
	"encoding/json"
	"io"
)

// jsonFormatter writes the Report as the JSON contract document.
type jsonFormatter struct{}

func (jsonFormatter) Format(w io.Writer, r *Report) error {
	out := *r
	if r.Diagnostics != nil {
		out.Findings = FindingsOf(r.Diagnostics)
	}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Errors == nil {
		out.Errors = []Error{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
