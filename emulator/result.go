package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Result is what one Run observed. Its JSON form is the stable contract of
// `ngxlint emulate --format json`.
type Result struct {
	// Binary is the nginx binary that ran the scenario (real engines).
	Binary string `json:"binary,omitempty"`
	// Differences are where a real nginx and the emulator disagreed on the
	// same scenario (nginxengine.Both): each a bug in the emulator.
	Differences []string        `json:"engine_differences,omitempty"`
	Engine      string          `json:"engine"`
	Profile     ResultProfile   `json:"profile"`
	Requests    []RequestResult `json:"requests"`
	Backends    []BackendStats  `json:"backends"`

	// Worker is the Lua worker's start-up (nil without Lua code).
	Worker *WorkerResult `json:"worker,omitempty"`
	// LuaFailed is true when Lua code failed on some request (or the
	// worker did not start): those requests observed a crash, not the
	// balancer's behaviour.
	LuaFailed bool `json:"lua_failed"`
	// ExternalDeps lists what the Lua code tried to reach outside
	// (cosockets, resty.http, subrequests, unset environment variables);
	// each failed as a refused connection or nil would.
	ExternalDeps []ExternalDep `json:"external_deps,omitempty"`
	// MissingModules are modules required and found neither in the
	// checked tree nor among the emulator's own.
	MissingModules []string `json:"missing_modules,omitempty"`
	// Hints say what would let the Lua code run further.
	Hints []string `json:"hints,omitempty"`

	// Notes are run-level remarks for the text trace (assumed versions,
	// approximations that applied).
	Notes []string `json:"-"`
}

// ResultProfile names the emulated versions ("" when not applicable).
type ResultProfile struct {
	Nginx          string `json:"nginx"`
	LuaNginxModule string `json:"lua_nginx_module"`
	// StreamLuaNginxModule is set for a stream run: the stream-lua release
	// the profile's OpenResty bundle ships, or "latest" when the profile
	// names none (the balancer then behaves as every stream-lua release
	// does: stream.go).
	StreamLuaNginxModule string `json:"stream_lua_nginx_module,omitempty"`
	OpenResty            string `json:"openresty"`
}

// Status is a client-visible status: an HTTP code, or "timeout" when the
// client got no answer (the request was cut by MaxAttempts or Timeout; nginx
// itself would log 499 when the client gives up).
type Status struct {
	Code    int
	Timeout bool
	// Closed is a stream client's connection closed by the proxy before
	// any byte arrived: how a stream server says 502 or 500 (the session
	// status is RequestResult.Session).
	Closed bool
}

// MarshalJSON writes a number or the string "timeout".
func (s Status) MarshalJSON() ([]byte, error) {
	if s.Timeout {
		return []byte(`"timeout"`), nil
	}
	if s.Closed {
		return []byte(`"closed"`), nil
	}
	return []byte(strconv.Itoa(s.Code)), nil
}

// UnmarshalJSON reads a number or "timeout".
func (s *Status) UnmarshalJSON(b []byte) error {
	if string(b) == `"timeout"` {
		*s = Status{Timeout: true}
		return nil
	}
	if string(b) == `"closed"` {
		*s = Status{Closed: true}
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("status: want a number or \"timeout\", got %s", b)
	}
	*s = Status{Code: n}
	return nil
}

func (s Status) String() string {
	if s.Timeout {
		return "timeout"
	}
	if s.Closed {
		return "closed"
	}
	return strconv.Itoa(s.Code)
}

// RequestResult is one client request.
type RequestResult struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status Status `json:"status"`
	// UpstreamConnections and UpstreamRequests count what the emulated
	// backends accepted and read while this client request was served.
	UpstreamConnections int  `json:"upstream_connections"`
	UpstreamRequests    int  `json:"upstream_requests"`
	Unbounded           bool `json:"unbounded"`
	// Session is a stream session's status as nginx logs it in $status
	// (200 proxied, 500 balancer error, 502 no upstream reached); 0 for
	// http requests.
	Session int `json:"session,omitempty"`
	// Peers are the peer addresses whose backend read this request, in
	// order: the attempts that reached a backend (a refused connect or a
	// timed-out connect reaches none). Both engines observe it the same
	// way, at the backends.
	Peers    []string  `json:"peers,omitempty"`
	Attempts []Attempt `json:"attempts"`
	// Resolved are the names a real nginx asked the engine's DNS stub for
	// while serving this request (Scenario.RequestHosts), in order.
	Resolved []string `json:"resolved,omitempty"`
	// TLS is how the handshake of a request with a TLSProbe ended (the
	// real-nginx engine; nil otherwise).
	TLS *TLSOutcome `json:"tls,omitempty"`
	// UpstreamTLS are the handshakes nginx made with the TLS backends
	// while serving a request with Request.UpstreamTLS, in order: the
	// backend's side, completed or failed (the real-nginx engine).
	UpstreamTLS []TLSOutcome `json:"upstream_tls,omitempty"`

	// LuaError is the first Lua error of this request: the phase and the
	// message, positioned in the user's file ("balancer_by_lua*:
	// lua/balancer.lua:11: attempt to index a nil value"). AnsweredBy
	// names the Lua phase that answered the request itself
	// ("access_by_lua* ngx.exit(403)"); the upstream was not reached.
	LuaError   string `json:"lua_error,omitempty"`
	AnsweredBy string `json:"answered_by,omitempty"`

	// Head and Body are the response as the client read it (the real-nginx
	// engine fills them; the request-path emulator returns an Exchange),
	// for the security rules' confirmations: Head is the raw head, read
	// with ParseHead. Body is cut at 64 KiB.
	Head string `json:"-"`
	Body string `json:"-"`

	// Why is the reason the request ended, for the text trace
	// ("finalize 502: tries == 0", "max attempts 1000 reached", ...).
	Why string `json:"-"`
	// Log holds ngx.log lines and emulator notes not tied to an attempt.
	Log []string `json:"-"`
	// ErrorLogLines are the error.log lines of level warn and above that
	// a real nginx wrote while serving this request (the real-nginx
	// engine; nil otherwise), as written: evidence of what no response
	// shows, such as a PCRE failure inside a map.
	ErrorLogLines []string `json:"-"`
}

// Attempt is one pass through get peer / connect / send / read.
type Attempt struct {
	Peer    string `json:"peer"`
	Cached  bool   `json:"cached"`
	Outcome string `json:"outcome"`
	FT      string `json:"ft"`

	// TriesLeft is u->peer.tries after ngx_http_upstream_next (or after the
	// response), as nginx's unsigned counter.
	TriesLeft uint64 `json:"-"`
	// Status is the upstream response status, if one was read.
	Status int `json:"-"`
	// Log holds ngx.log output of the balancer run and emulator notes.
	Log []string `json:"-"`
}

// Outcome values of an Attempt.
const (
	OutcomeResponse     = "response"       // a response was passed to the client
	OutcomeNextStatus   = "next-status"    // status matched proxy_next_upstream (test_next)
	OutcomeClosed       = "closed"         // upstream prematurely closed connection
	OutcomeReset        = "reset"          // connection reset by peer
	OutcomeTimeout      = "timeout"        // connect/send/read timer
	OutcomeInvalid      = "invalid-header" // bad or too big header
	OutcomeConnectError = "connect-error"  // connect() failed
	OutcomeNoLive       = "no-live"        // balancer returned NGX_BUSY
	OutcomeLuaError     = "lua-error"      // balancer code raised an error
	OutcomeLuaTimeout   = "lua-timeout"    // balancer code exceeded LuaTimeout
	OutcomeLuaMemory    = "lua-memory"     // balancer code exceeded the memory bound
	OutcomeLuaExit      = "lua-exit"       // ngx.exit ended the attempt
	OutcomeNoPeer       = "no-peer-set"    // LNM >= 0.10.27 placeholder picked
	OutcomeClientAbort  = "client-abort"   // the client went away during the attempt
	OutcomeCapped       = "capped"         // MaxAttempts reached, attempt not run
	OutcomeProxied      = "proxied"        // stream: connected, bytes relayed until one side ended
)

// BalancerFailedEverywhere reports whether no request observed the
// configuration's behaviour: the worker did not start, or the Lua code
// failed on every request. `ngxlint emulate` exits non-zero then.
func (r *Result) BalancerFailedEverywhere() bool {
	if r.Worker != nil && r.Worker.StartError != "" {
		return true
	}
	if len(r.Requests) == 0 {
		return false
	}
	for _, q := range r.Requests {
		if q.LuaError == "" {
			return false
		}
	}
	return true
}

// finishLua sets LuaFailed and the hints after a run with Lua code.
func (r *Result) finishLua() {
	r.LuaFailed = r.Worker != nil && r.Worker.StartError != ""
	for _, q := range r.Requests {
		if q.LuaError != "" {
			r.LuaFailed = true
		}
	}
	for _, m := range r.MissingModules {
		r.Hints = append(r.Hints, fmt.Sprintf("module '%s' is in neither the checked tree nor the emulator: a stub in .ngxlint.yaml (emulate: modules: {%s: stub.lua}), or --prefix / a path_map that finds it in the tree, would let the code run", m, m))
	}
	if len(r.ExternalDeps) > 0 {
		r.Hints = append(r.Hints, "the Lua code reaches outside the configuration (external_deps); fixtures (.ngxlint.yaml emulate: shared_dicts, env, modules, vars) can stand in for what it would get")
	}
}

// JSON returns the indented JSON form.
func (r *Result) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// Summary is a one-line description of the run, one clause per request,
// e.g. "GET /1 -> 200 after 1 attempt, 1 upstream connection; GET /2 ->
// timeout after 1000 attempts, 999 upstream connections (unbounded, capped)".
func (r *Result) Summary() string {
	parts := make([]string, 0, len(r.Requests))
	for _, q := range r.Requests {
		s := fmt.Sprintf("%s %s -> %s after %d attempt%s, %d upstream connection%s",
			q.Method, q.Path, q.Status, len(q.Attempts), plural(len(q.Attempts)),
			q.UpstreamConnections, plural(q.UpstreamConnections))
		if q.Unbounded {
			s += " (unbounded, capped)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// maxTraceAttempts bounds how many attempts per request the text trace
// prints in full; the rest are summarised.
const maxTraceAttempts = 12

// WriteText writes a readable trace, meant to be pasted into a bug report.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	p := r.Profile
	if p.StreamLuaNginxModule != "" {
		fmt.Fprintf(&b, "emulated: nginx %s, stream-lua-nginx-module %s", orDash(p.Nginx), p.StreamLuaNginxModule)
	} else {
		fmt.Fprintf(&b, "emulated: nginx %s, lua-nginx-module %s", orDash(p.Nginx), orDash(p.LuaNginxModule))
	}
	if p.OpenResty != "" {
		fmt.Fprintf(&b, ", openresty %s", p.OpenResty)
	}
	b.WriteString("\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if w := r.Worker; w != nil {
		if w.StartError != "" {
			fmt.Fprintf(&b, "worker: nginx would not start: %s\n", w.StartError)
		}
		for _, e := range w.Errors {
			fmt.Fprintf(&b, "worker: %s\n", e)
		}
		for _, l := range w.Log {
			fmt.Fprintf(&b, "worker: %s\n", l)
		}
	}
	for _, d := range r.ExternalDeps {
		fmt.Fprintf(&b, "external: %s at %s (%s): refused\n", d.What, d.Where, d.Phase)
	}
	for _, h := range r.Hints {
		fmt.Fprintf(&b, "hint: %s\n", h)
	}
	for i, q := range r.Requests {
		fmt.Fprintf(&b, "\nrequest %d: %s %s -> %s", i+1, q.Method, q.Path, q.Status)
		if q.Session != 0 {
			fmt.Fprintf(&b, " (stream session $status %d)", q.Session)
		}
		if q.Unbounded {
			b.WriteString(" UNBOUNDED")
		}
		fmt.Fprintf(&b, " (%d attempt%s, %d upstream connection%s, %d upstream request%s read)\n",
			len(q.Attempts), plural(len(q.Attempts)), q.UpstreamConnections, plural(q.UpstreamConnections),
			q.UpstreamRequests, plural(q.UpstreamRequests))
		if q.AnsweredBy != "" {
			fmt.Fprintf(&b, "  answered by %s\n", q.AnsweredBy)
		}
		for _, l := range q.Log {
			fmt.Fprintf(&b, "  %s\n", l)
		}
		for j, a := range q.Attempts {
			if len(q.Attempts) > maxTraceAttempts && j == maxTraceAttempts-2 {
				fmt.Fprintf(&b, "  ... %d more attempts like the above ...\n", len(q.Attempts)-maxTraceAttempts)
			}
			if len(q.Attempts) > maxTraceAttempts && j >= maxTraceAttempts-2 && j < len(q.Attempts)-2 {
				continue
			}
			conn := "fresh"
			if a.Cached {
				conn = "cached"
			}
			peer := a.Peer
			if peer == "" {
				peer = "(none)"
			}
			fmt.Fprintf(&b, "  #%d peer %s, %s connection: %s", j+1, peer, conn, a.Outcome)
			if a.Status != 0 {
				fmt.Fprintf(&b, " %d", a.Status)
			}
			if a.FT != "" {
				fmt.Fprintf(&b, ", ft_type %s", a.FT)
			}
			fmt.Fprintf(&b, ", tries left %s\n", triesString(a.TriesLeft))
			for _, l := range a.Log {
				fmt.Fprintf(&b, "      %s\n", l)
			}
		}
		if q.Why != "" {
			fmt.Fprintf(&b, "  => %s\n", q.Why)
		}
	}
	if len(r.Backends) > 0 {
		b.WriteString("\nbackends:\n")
		for _, s := range r.Backends {
			fmt.Fprintf(&b, "  %-22s %-13s %d connection%s, %d request%s\n", s.Address, s.Policy,
				s.Connections, plural(s.Connections), s.Requests, plural(s.Requests))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func triesString(t uint64) string {
	if t > 1<<62 {
		return fmt.Sprintf("%d (wrapped: 2^64-%d)", t, -t)
	}
	return strconv.FormatUint(t, 10)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
