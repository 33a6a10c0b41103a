package rules

import (
	"context"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// TestRedosBacktrackSubjects: for the nested repetition nestedAmbiguous
// finds, reqmodel's Backtrack builds the repeated text, the failing byte
// and the rest of the pattern, checked with RE2: the control matches, the
// attack fails (or, unanchored, matches only from the failing byte on).
// Patterns where no such pair exists, or whose subject would be too long,
// give none, and one the rule does not flag is never asked.
func TestRedosBacktrackSubjects(t *testing.T) {
	as := strings.Repeat("a", reqmodel.BacktrackReps)
	tests := []struct {
		src, lead     string
		attack, ctrl  string // "" when no subject is wanted
		notFlagged    bool
		caseless      bool
		bads          string
		wantMatchFrom int // the unanchored attack matches from here (-1: no match)
	}{
		{src: `^/(a+)+$`, lead: "/", attack: "/" + as + "!", ctrl: "/" + as, wantMatchFrom: -1},
		{src: `^(\w+\s?)*$`, attack: as + "!", ctrl: as, wantMatchFrom: -1},
		{src: `^/api/(\w+\s?)+$`, lead: "/", attack: "/api/" + as + "!", ctrl: "/api/" + as, wantMatchFrom: -1},
		// The 'x' every match needs stays after the failing byte, so that
		// PCRE's required-character check does not reject the subject
		// before backtracking; the unanchored pattern then matches the 'x'
		// alone, from the failing byte on.
		{src: `([a-z]+)*x`, attack: as + "!x", ctrl: as + "x", wantMatchFrom: len(as) + 1},
		{src: `^([a-z]+)*x$`, attack: as + "!x", ctrl: as + "x", wantMatchFrom: -1},
		{src: `^/x/(.*/)*end$`, lead: "/", attack: "/x/" + strings.Repeat("a/", reqmodel.BacktrackReps) + "!end", ctrl: "/x/" + strings.Repeat("a/", reqmodel.BacktrackReps) + "end", wantMatchFrom: -1},
		// '.' takes the failing byte, but every turn must end with an 'a'.
		{src: `^(.*a)*b$`, attack: strings.Repeat("aa", reqmodel.BacktrackReps) + "!b", ctrl: strings.Repeat("aa", reqmodel.BacktrackReps) + "b", wantMatchFrom: -1},
		{src: `^(.*a)*$`, attack: strings.Repeat("aa", reqmodel.BacktrackReps) + "!", ctrl: strings.Repeat("aa", reqmodel.BacktrackReps), wantMatchFrom: -1},
		// ".*" takes every printable byte after the loop and PCRE's '$'
		// matches before a final newline: no byte fails the match.
		{src: `^(a+)+.*$`, bads: "!~\n"},
		{src: `^/r/((?:ab|a)*)*$`, lead: "/", attack: "/r/" + strings.Repeat("ab", reqmodel.BacktrackReps) + "!", ctrl: "/r/" + strings.Repeat("ab", reqmodel.BacktrackReps), wantMatchFrom: -1},
		// "~*": the generator writes a caseless literal as RE2 stores it.
		{src: `^/x/(\w+\s?)+$`, caseless: true, lead: "/", attack: "/X/" + as + "!", ctrl: "/X/" + as, wantMatchFrom: -1},
		// Alternation ambiguity is not nested repetition: not flagged.
		{src: `(a|a)+b`, notFlagged: true},
		// Unanchored at the end: any subject matches at its start, so
		// PCRE never backtracks; no subject.
		{src: `(a+)+`},
		{src: `^(\w+\s?)*`},
		// One turn of the loop is 301 bytes: too long a subject.
		{src: `^(x{300}\w+)+$`},
	}
	for _, tt := range tests {
		re := reqmodel.Compile(tt.src, tt.caseless)
		inner, outer := nestedAmbiguous(re.Tree())
		if tt.notFlagged {
			if inner != nil {
				t.Errorf("%s: flagged, want not", tt.src)
			}
			continue
		}
		if inner == nil {
			t.Errorf("%s: not flagged", tt.src)
			continue
		}
		bads := tt.bads
		if bads == "" {
			bads = redosBadValue
		}
		bt, ok := re.Backtrack(outer, inner, tt.lead, bads)
		if tt.attack == "" {
			if ok {
				t.Errorf("%s: subject %q, want none", tt.src, bt.Attack)
			}
			continue
		}
		if !ok || bt.Attack != tt.attack || bt.Control != tt.ctrl {
			t.Errorf("%s: %v %q / %q, want %q / %q", tt.src, ok, bt.Attack, bt.Control, tt.attack, tt.ctrl)
			continue
		}
		if re.Match(bt.Control) == nil {
			t.Errorf("%s: control %q does not match", tt.src, bt.Control)
		}
		if bt.Attack[:bt.Bad]+bt.Attack[bt.Bad+1:] != bt.Control {
			t.Errorf("%s: attack %q is not the control %q with one byte at %d", tt.src, bt.Attack, bt.Control, bt.Bad)
		}
		m := re.Match(bt.Attack)
		switch {
		case tt.wantMatchFrom < 0 && m != nil:
			t.Errorf("%s: attack %q matches", tt.src, bt.Attack)
		case tt.wantMatchFrom >= 0 && (m == nil || m[0] != bt.Attack[tt.wantMatchFrom:]):
			t.Errorf("%s: attack %q: match %q, want %q", tt.src, bt.Attack, m, bt.Attack[tt.wantMatchFrom:])
		}
	}
}

// TestRedosEmulatorMakesNoClaim: with the emulator alone, a finding with a
// crafted request is not-confirmable with the reason (RE2 cannot show
// backtracking) and names the request it would send; a map key or a
// server_name says why it is not replayed; a regex matched against a
// variable no request sets is skipped; and a benign regex gives no finding.
func TestRedosEmulatorMakesNoClaim(t *testing.T) {
	ds := analyzeOne(t, RegexReDoS, `http {
    map $uri $m {
        ~^/(a+)+$ 1;
        default 0;
    }
    server {
        listen 80;
        server_name victim.test ~^(\w+\.?)+example\.com$;
        location ~ ^/(a+)+$ { return 200; }
        location /b {
            if ($http_x_name ~ "^(\w+\s?)*$") { return 403; }
            if ($remote_user ~ "^(\w+\s?)*$") { return 403; }
            return 200;
        }
        location ~ ^/docs(/[a-z0-9-]+)*/?$ { return 200; }
    }
}
`, "")
	want := map[int]string{
		3:  "takes the map's default value",
		8:  "closes the connection without an answer",
		9:  "RE2 runs in linear time; real nginx decides",
		11: "RE2 runs in linear time; real nginx decides",
		12: "matched against $remote_user",
	}
	if len(ds) != len(want) {
		t.Errorf("%d findings, want %d", len(ds), len(want))
	}
	for _, d := range ds {
		w, ok := want[d.Pos.Line]
		if !ok {
			t.Errorf("unexpected finding at line %d: %s", d.Pos.Line, d.Message)
			continue
		}
		if d.Confirm == nil {
			t.Errorf("line %d: no confirmer", d.Pos.Line)
			continue
		}
		c := d.Confirm.Confirm(context.Background())
		if c.Status != analyzer.NotConfirmable || !strings.Contains(c.Reason, w) {
			t.Errorf("line %d: %s %q, want not-confirmable with %q", d.Pos.Line, c.Status, c.Reason, w)
		}
		if strings.Contains(c.Reason, "RE2") && !strings.HasPrefix(c.Summary, "crafted GET /") {
			t.Errorf("line %d: summary %q does not name the crafted request", d.Pos.Line, c.Summary)
		}
	}
}
