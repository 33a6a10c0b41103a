package rules

import (
	"context"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
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
// backtracking) and names the request it would send; a map key whose
// variable nothing reads says why it is not replayed; a regex matched against a
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
		3:  "$m is read nowhere",
		8:  "RE2 runs in linear time; real nginx decides",
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

// TestRedosMapKeyRequest: a map key is replayed with the subject in the
// map's source variable, on a request to where the map's variable is
// read; the emulator makes no claim. A source that is not one variable is
// not replayed.
func TestRedosMapKeyRequest(t *testing.T) {
	ds := analyzeOne(t, RegexReDoS, `http {
    map $http_x_tag $m {
        ~^(a+)+$ 1;
        default 0;
    }
    map $http_x_a$http_x_b $n {
        ~^(a+)+$ 1;
        default 0;
    }
    server {
        listen 80;
        server_name victim.test;
        location /t { return 200 "$m $n"; }
    }
}
`, "")
	want := map[int]struct{ reason, summary string }{
		3: {"RE2 runs in linear time; real nginx decides", "crafted GET /t [x-tag: aaaa"},
		7: {"is not a single variable", ""},
	}
	if len(ds) != len(want) {
		t.Errorf("%d findings, want %d", len(ds), len(want))
	}
	for _, d := range ds {
		w, ok := want[d.Pos.Line]
		if !ok || d.Confirm == nil {
			t.Errorf("line %d: unexpected finding or no confirmer: %s", d.Pos.Line, d.Message)
			continue
		}
		c := d.Confirm.Confirm(context.Background())
		if c.Status != analyzer.NotConfirmable || !strings.Contains(c.Reason, w.reason) || !strings.HasPrefix(c.Summary, w.summary) {
			t.Errorf("line %d: %s %q (%s), want not-confirmable with %q, summary %q...", d.Pos.Line, c.Status, c.Reason, c.Summary, w.reason, w.summary)
		}
	}
}

// TestRedosLogged: the log judge confirms only a limit failure logged on
// the attack subject, with none logged for the control, whatever nginx
// names the regex (bytes of freed memory for a map key).
func TestRedosLogged(t *testing.T) {
	const attack = "aaaa!"
	line := func(fn, code, subject string) string {
		return `2026/12/06 14:36:55 [alert] 1#1: *1 ` + fn + `() failed: ` + code + ` on "` + subject + `" using "\x00\x00", client: 127.0.0.1`
	}
	tests := []struct {
		name      string
		x, c      []string
		want      bool
		wantSawIn string
	}{
		{"pcre2 match limit", []string{line("pcre2_match", "-47", attack)}, nil, true, `"pcre2_match() failed: -47" (match limit)`},
		{"old pcre match limit", []string{line("pcre_exec", "-8", attack)}, nil, true, "(match limit)"},
		{"jit stack limit", []string{line("pcre2_match", "-46", attack)}, nil, true, "(JIT stack limit)"},
		{"another subject", []string{line("pcre2_match", "-47", "aaaa")}, nil, false, "no PCRE failure logged"},
		{"not a limit", []string{line("pcre2_match", "-2", attack)}, nil, false, "no PCRE failure logged"},
		{"the control fails too", []string{line("pcre2_match", "-47", attack)}, []string{line("pcre2_match", "-47", "aaaa")}, false, "also for the control"},
		{"nothing logged", nil, nil, false, "no PCRE failure logged"},
	}
	judge := redosLogged(attack)
	for _, tt := range tests {
		got, saw := judge(&emulator.Exchange{Status: 200, ErrorLog: tt.x}, &emulator.Exchange{Status: 200, ErrorLog: tt.c})
		if got != tt.want || !strings.Contains(saw, tt.wantSawIn) {
			t.Errorf("%s: %v %q, want %v with %q", tt.name, got, saw, tt.want, tt.wantSawIn)
		}
	}
	if got, saw := judge(&emulator.Exchange{ErrorLog: []string{line("pcre2_match", "-47", attack)}}, nil); got {
		t.Errorf("no control: confirmed (%s)", saw)
	}
}

// TestRedosServerNameSocket: a regex server_name is replayed (with the
// subject as the Host) only where nginx runs it: on a socket with several
// servers, or whose default server's regex name captures.
func TestRedosServerNameSocket(t *testing.T) {
	ds := analyzeOne(t, RegexReDoS, `http {
    server {
        listen 80;
        server_name ~^(?:a+)+$;
    }
    server {
        listen 81;
        server_name victim.test;
    }
    server {
        listen 81;
        server_name ~^(?:b+)+$;
    }
}
`, "")
	want := map[int]struct{ reason, summary string }{
		4:  {"nginx never runs this regex: the server is alone on its listen socket", ""},
		12: {"RE2 runs in linear time; real nginx decides", "crafted GET / [Host: bbbb"},
	}
	if len(ds) != len(want) {
		t.Errorf("%d findings, want %d", len(ds), len(want))
	}
	for _, d := range ds {
		w, ok := want[d.Pos.Line]
		if !ok || d.Confirm == nil {
			t.Errorf("line %d: unexpected finding or no confirmer: %s", d.Pos.Line, d.Message)
			continue
		}
		c := d.Confirm.Confirm(context.Background())
		if c.Status != analyzer.NotConfirmable || !strings.Contains(c.Reason, w.reason) || !strings.HasPrefix(c.Summary, w.summary) {
			t.Errorf("line %d: %s %q (%s), want not-confirmable with %q, summary %q...", d.Pos.Line, c.Status, c.Reason, c.Summary, w.reason, w.summary)
		}
	}
}
