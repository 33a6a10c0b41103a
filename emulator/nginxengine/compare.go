package nginxengine

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/ngxlint/ngxlint/emulator"
)

// Difference is one way the emulator's observation differs from real
// nginx's on the same scenario. Real nginx is the referee, so every
// Difference is a finding about the emulator.
type Difference struct {
	// Request is the 0-based request index, -1 for the run as a whole.
	Request  int    `json:"request"`
	Method   string `json:"method,omitempty"`
	Path     string `json:"path,omitempty"`
	Nginx    string `json:"nginx"`
	Emulator string `json:"emulator"`
}

func (d Difference) String() string {
	if d.Request < 0 {
		return fmt.Sprintf("nginx %s, emulator %s", d.Nginx, d.Emulator)
	}
	return fmt.Sprintf("request %d (%s %s): nginx %s; emulator %s", d.Request+1, d.Method, d.Path, d.Nginx, d.Emulator)
}

// Compare compares the observations that must agree: the profile, each
// backend's totals, and per request the status, upstream connections,
// upstream requests and the sequence of peers the requests reached. Where
// real nginx hit the client timeout (a loop nginx does not bound) the
// emulator must have reported the request unbounded; its counts are then
// bounded by its MaxAttempts and not compared.
func Compare(real *Result, emu *emulator.Result) []Difference {
	var out []Difference
	if real.Profile != emu.Profile {
		out = append(out, Difference{Request: -1,
			Nginx:    fmt.Sprintf("profile %+v", real.Profile),
			Emulator: fmt.Sprintf("profile %+v", emu.Profile)})
	}
	if len(real.Requests) != len(emu.Requests) {
		out = append(out, Difference{Request: -1,
			Nginx:    fmt.Sprintf("%d requests", len(real.Requests)),
			Emulator: fmt.Sprintf("%d requests", len(emu.Requests))})
		return out
	}
	looped := false
	for _, r := range real.Requests {
		looped = looped || r.Status.Timeout
	}
	if !looped {
		out = append(out, compareBackends(real.Backends, emu.Backends)...)
	}
	for i, r := range real.Requests {
		e := emu.Requests[i]
		d := Difference{Request: i, Method: r.Method, Path: r.Path, Nginx: observation(r.RequestResult), Emulator: observation(e)}
		switch {
		case r.Status.Timeout:
			if !e.Unbounded {
				out = append(out, d)
			}
		case e.Unbounded || e.Status != r.Status ||
			e.UpstreamConnections != r.UpstreamConnections || e.UpstreamRequests != r.UpstreamRequests ||
			strings.Join(e.Peers, " ") != strings.Join(r.Peers, " "):
			out = append(out, d)
		}
	}
	return out
}

// compareBackends compares the per-address totals of the backends that saw
// any traffic on either side (a placeholder address nobody dialled may be
// listed by one engine and not the other). It is skipped when a request
// looped, since the emulator's counts are then capped.
func compareBackends(real, emu []emulator.BackendStats) []Difference {
	type tot struct{ c, r int }
	rm, em := map[string]tot{}, map[string]tot{}
	for _, b := range real {
		rm[b.Address] = tot{b.Connections, b.Requests}
	}
	for _, b := range emu {
		em[b.Address] = tot{b.Connections, b.Requests}
	}
	var addrs []string
	for a, t := range rm {
		if t != (tot{}) || em[a] != (tot{}) {
			addrs = append(addrs, a)
		}
	}
	for a, t := range em {
		if _, ok := rm[a]; !ok && t != (tot{}) {
			addrs = append(addrs, a)
		}
	}
	sort.Strings(addrs)
	var out []Difference
	for _, a := range addrs {
		if r, e := rm[a], em[a]; r != e {
			out = append(out, Difference{Request: -1,
				Nginx:    fmt.Sprintf("backend %s: %d connections, %d requests", a, r.c, r.r),
				Emulator: fmt.Sprintf("backend %s: %d connections, %d requests", a, e.c, e.r)})
		}
	}
	return out
}

func observation(q emulator.RequestResult) string {
	st := q.Status.String()
	if !q.Status.Timeout && q.Status.Code == 0 {
		st = "no response"
	}
	s := fmt.Sprintf("%s, %d upstream connection%s, %d upstream request%s", st,
		q.UpstreamConnections, plural(q.UpstreamConnections), q.UpstreamRequests, plural(q.UpstreamRequests))
	if len(q.Peers) > 0 {
		s += ", peers " + strings.Join(q.Peers, " ")
	}
	if q.Unbounded {
		s += " (unbounded)"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Summary is a one-line description, e.g. "GET /a -> 200, 1 upstream
// connection, 1 upstream request; GET /b -> 502, ...".
func (r *Result) Summary() string {
	parts := make([]string, 0, len(r.Requests))
	for _, q := range r.Requests {
		parts = append(parts, q.Method+" "+q.Path+" -> "+observation(q.RequestResult))
	}
	return strings.Join(parts, "; ")
}

// WriteText writes a readable report: the binary and its versions, per
// request what the backends and error.log saw, the backends, and every
// rewrite made to the configuration.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "real nginx %s: nginx %s", r.Binary, orDash(r.Profile.Nginx))
	if r.Profile.LuaNginxModule != "" {
		fmt.Fprintf(&b, ", lua-nginx-module %s", r.Profile.LuaNginxModule)
	}
	if r.Profile.OpenResty != "" {
		fmt.Fprintf(&b, ", openresty %s", r.Profile.OpenResty)
	}
	b.WriteString("\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for i, q := range r.Requests {
		fmt.Fprintf(&b, "\nrequest %d: %s %s -> %s", i+1, q.Method, q.Path, observation(q.RequestResult))
		b.WriteString("\n")
		if q.Why != "" {
			fmt.Fprintf(&b, "  => %s\n", q.Why)
		}
		keys := make([]string, 0, len(q.ErrorLog))
		for k := range q.ErrorLog {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  error.log: %q x%d\n", k, q.ErrorLog[k])
		}
	}
	if len(r.Backends) > 0 {
		b.WriteString("\nbackends:\n")
		for _, s := range r.Backends {
			fmt.Fprintf(&b, "  %-22s %-13s %d connection%s, %d request%s\n", s.Address, s.Policy,
				s.Connections, plural(s.Connections), s.Requests, plural(s.Requests))
		}
	}
	if len(r.Rewrites) > 0 {
		b.WriteString("\nconfiguration rewritten for the run:\n")
		for _, rw := range r.Rewrites {
			fmt.Fprintf(&b, "  %s\n", rw)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
