package rules

import (
	"context"
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// The SEC1xxx findings a request can show (SEC1001, SEC1003, SEC1004,
// SEC1011) are confirmed through the same request path as the SEC2xxx
// ones (requestConfirmer): a request routed to the level or directive the
// finding is about, and a check of what the response carries.

// secPlace is where a directive of the http context applies: its server,
// its location (nil at server level), and the if block it sits in, if any.
type secPlace struct {
	srv  *nginxconf.Server
	loc  *nginxconf.Location
	inIf *nginxconf.Directive
}

type secPlacesKey struct{}

// placeOf returns where d applies, from a map built once per run.
func placeOf(pass *analyzer.Pass, d *nginxconf.Directive) (secPlace, bool) {
	m := pass.Fact(secPlacesKey{}, func() any {
		m := map[*nginxconf.Directive]secPlace{}
		if pass.Model == nil || pass.Model.HTTP == nil {
			return m
		}
		var walk func(p secPlace, ds []*nginxconf.Directive)
		walk = func(p secPlace, ds []*nginxconf.Directive) {
			for _, d := range ds {
				m[d] = p
				if d.Name == "if" && d.HasBlock {
					q := p
					q.inIf = d
					walk(q, d.Block)
					for _, c := range d.Block {
						for _, inc := range c.Included {
							walk(q, inc.Directives)
						}
					}
				}
			}
		}
		for _, srv := range pass.Model.HTTP.Servers {
			walk(secPlace{srv: srv}, srv.Directives)
			for _, l := range srv.AllLocations {
				walk(secPlace{srv: srv, loc: l}, l.Directives)
			}
		}
		return m
	}).(map[*nginxconf.Directive]secPlace)
	p, ok := m[d]
	return p, ok
}

// levelPlace returns the server and location (nil for a server level)
// whose block opens the level; ok is false for the levels a request is not
// routed to by its path (http, if, limit_except).
func levelPlace(pass *analyzer.Pass, lv *secLevel) (secPlace, bool) {
	if lv.kind != "server" && lv.kind != "location" {
		return secPlace{}, false
	}
	if lv.kind == "server" {
		if pass.Model != nil && pass.Model.HTTP != nil {
			for _, srv := range pass.Model.HTTP.Servers {
				if srv.Directive == lv.block {
					return secPlace{srv: srv}, true
				}
			}
		}
		return secPlace{}, false
	}
	p, ok := placeOf(pass, lv.block)
	if !ok {
		return secPlace{}, false
	}
	for _, l := range p.srv.AllLocations {
		if l.Directive == lv.block {
			return secPlace{srv: p.srv, loc: l}, true
		}
	}
	return secPlace{}, false
}

// locationName is how an Exchange names a location.
func locationName(l *nginxconf.Location) string {
	if l == nil {
		return ""
	}
	return strings.TrimSpace(l.Modifier + " " + l.Path)
}

// pathsInto returns request paths to p: the location's own route, or for
// the server level "/" and the routes of the server's top-level locations
// that set no name directive of their own (so the server's list is the one
// that applies there).
func pathsInto(pass *analyzer.Pass, p secPlace, name string) []string {
	a := secAnalysis(pass)
	if p.loc != nil {
		return routeTo(a, p.loc)
	}
	out := []string{"/"}
	for _, l := range p.srv.Locations {
		if len(out) >= 4 {
			break
		}
		if len(l.Own(name)) == 0 {
			out = append(out, routeTo(a, l)...)
		}
	}
	return dedupe(out)
}

// routedTo checks that the emulator served the request at p: in p's
// location, or, for the server level, in no location or one that does
// not set name itself.
func routedTo(p secPlace, name string) func(x *emulator.Exchange) (bool, string) {
	return func(x *emulator.Exchange) (bool, string) {
		if p.loc != nil {
			if x.Location != locationName(p.loc) {
				return false, fmt.Sprintf("%d from location %q, not %q", x.Status, x.Location, locationName(p.loc))
			}
			return true, ""
		}
		if x.Location == "" {
			return true, ""
		}
		for _, l := range p.srv.AllLocations {
			if locationName(l) == x.Location {
				for s := &l.Scope; s != nil && s != &p.srv.Scope; s = s.Parent {
					if len(s.Own(name)) > 0 {
						return false, fmt.Sprintf("%d from location %q, which sets its own %s", x.Status, x.Location, name)
					}
				}
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d from location %q", x.Status, x.Location)
	}
}

// checksAt is one check per path, each judged by shows and, for the
// emulator's answer, routed (requestCheck.routed).
func checksAt(paths []string, shows, routed func(x *emulator.Exchange) (bool, string)) []requestCheck {
	var out []requestCheck
	for _, p := range paths {
		out = append(out, requestCheck{req: emulator.Request{Path: p}, shows: shows, routed: routed})
	}
	return out
}

// notConfirmable is a Confirmer that says why no request is crafted.
func notConfirmable(why string) analyzer.Confirmer {
	return analyzer.ConfirmFunc(func(context.Context) analyzer.Confirmation {
		return analyzer.Confirmation{Engine: "emulator (request path)", Status: analyzer.NotConfirmable, Reason: why}
	})
}

// foldedHeader finds the header name in a response head whose value goes
// on past a line break (the line ends with a bare LF, or the next line is
// a continuation) and returns its two lines.
func foldedHeader(head, name string) (string, bool) {
	lines := strings.Split(head, "\n")
	for i, l := range lines[1:] {
		n, _, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(n), name) {
			continue
		}
		next := ""
		if i+2 < len(lines) {
			next = lines[i+2]
		}
		if !strings.HasSuffix(l, "\r") || strings.HasPrefix(next, " ") || strings.HasPrefix(next, "\t") {
			return strings.TrimSuffix(l, "\r") + "\\n" + strings.TrimSuffix(next, "\r"), true
		}
	}
	return "", false
}
