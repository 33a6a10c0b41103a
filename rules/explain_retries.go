package rules

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
	"github.com/ngxlint/ngxlint/versions"
)

// RetryRow is the retry model of one location, for `ngxlint
// explain-retries`.
type RetryRow struct {
	Location   string           `json:"location"`
	Pos        string           `json:"position"`
	Upstream   string           `json:"upstream"`
	Mask       string           `json:"proxy_next_upstream"`
	Tries      string           `json:"proxy_next_upstream_tries"`
	Timeout    string           `json:"proxy_next_upstream_timeout"`
	Keepalive  int              `json:"keepalive"`
	Prediction retry.Prediction `json:"-"`
	Attempts   string           `json:"worst_case_attempts"`
	Resend     bool             `json:"post_can_be_sent_twice"`
	Steps      []string         `json:"steps"`
}

// ExplainRetries runs the retry model on every location that proxies to
// an upstream block, and on every TCP stream server proxying to one without
// a Lua balancer.
func ExplainRetries(m *nginxconf.Model, prof versions.Profile) []RetryRow {
	var rows []RetryRow
	// One analysis per balancer chunk, however many locations use it.
	facts := map[*nginxconf.LuaChunk]*luacheck.Result{}
	for _, pl := range proxiedLocations(m) {
		l, u := pl.loc, pl.up
		var bal *luacheck.Result
		if b := u.Balancer; b != nil && b.Lua != nil && b.Lua.LoadError == "" {
			if bal = facts[b.Lua]; bal == nil {
				bal = luacheck.Analyze(b.Lua, luacheck.Options{LuaNginxModuleVersion: versionOrEmpty(prof.LNM)})
				facts[b.Lua] = bal
			}
		}
		in := retry.FromModel(prof, u, l, bal)
		p := retry.Predict(in)
		row := RetryRow{
			Location:   strings.TrimSpace(l.Modifier + " " + l.Path),
			Pos:        l.Directive.Pos.String(),
			Upstream:   u.Name,
			Mask:       strings.Join(in.Mask, " "),
			Tries:      "unlimited",
			Timeout:    "unlimited",
			Keepalive:  in.Keepalive,
			Prediction: p,
			Attempts:   p.String(),
			Resend:     p.Resend,
			Steps:      p.Steps,
		}
		if in.Tries > 0 {
			row.Tries = fmt.Sprint(in.Tries)
		}
		if in.Timeout != "" {
			row.Timeout = in.Timeout
		}
		if p.CachedExtra > 0 && !p.Unbounded {
			row.Attempts = fmt.Sprintf("%d (%d on stale keepalive)", p.Attempts, p.CachedExtra)
		}
		rows = append(rows, row)
	}
	// Stream servers proxying to an upstream without a Lua balancer: the
	// same model for sessions whose connects fail (retry.FromStream).
	for _, s := range streamProxied(m) {
		u, sp := s.Proxy.Upstream, s.StreamProxy
		if u.Balancer != nil || s.ListenUDP() {
			continue
		}
		in := retry.FromStream(prof, u, sp)
		p := retry.Predict(in)
		row := RetryRow{
			Location:   "stream :" + s.ListenPort(),
			Pos:        s.Directive.Pos.String(),
			Upstream:   u.Name,
			Mask:       "on (connect failures)",
			Tries:      "unlimited",
			Timeout:    "unlimited",
			Prediction: p,
			Attempts:   p.String(),
			Steps:      p.Steps,
		}
		if !sp.NextUpstreamOn() {
			row.Mask = "off"
		}
		if in.Tries > 0 {
			row.Tries = fmt.Sprint(in.Tries)
		}
		if in.Timeout != "" {
			row.Timeout = in.Timeout
		}
		rows = append(rows, row)
	}
	return rows
}

func versionOrEmpty(v versions.Version) string {
	if v.IsZero() {
		return ""
	}
	return v.String()
}

// WriteRetryTable prints rows as a table a person can read, with the
// model's reasoning under each location when verbose.
func WriteRetryTable(w io.Writer, rows []RetryRow, verbose bool) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no location proxies to an upstream block")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tUPSTREAM\tPROXY_NEXT_UPSTREAM\tTRIES\tTIMEOUT\tKEEPALIVE\tWORST CASE ATTEMPTS\tPOST TWICE\tAT")
	for _, r := range rows {
		post := "no"
		if r.Resend {
			post = "YES"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Location, r.Upstream, r.Mask, r.Tries, r.Timeout, r.Keepalive, r.Attempts, post, r.Pos)
	}
	tw.Flush()
	if !verbose {
		return
	}
	for _, r := range rows {
		fmt.Fprintf(w, "\n%s (%s) -> upstream %q:\n", r.Location, r.Pos, r.Upstream)
		for _, s := range r.Steps {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
}
