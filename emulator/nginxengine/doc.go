// Package nginxengine runs an emulator scenario through a real nginx binary
// instead of the Go emulator: it is `--engine nginx`, and the referee of the
// emulator in the differential test suite (testdata/diff, diff_test.go).
//
// Trust: this engine executes the configuration. nginx runs with the rights
// of the process that calls Run (root on many CI runners), and it runs the
// configuration's Lua unsandboxed: init_by_lua and init_worker_by_lua at
// start, timers, every phase handler, with os.execute, io.popen, io.open,
// ngx.socket.tcp/udp and FFI available; a load_module line may load any
// shared object the tree ships. What the engine contains is nginx itself
// (listeners, upstream connections, resolver, syslog, OCSP: see below) and
// the processes it leaves behind; it does not and cannot contain what that
// code does meanwhile: read or write the runner's files and environment,
// dial any address from Lua, or hand work to a daemon outside its process
// tree (systemd, cron, docker). Use it only on configurations you trust,
// never on an untrusted pull request's.
//
// A run copies the user's configuration tree into a private directory and
// edits only what the scenario needs, at nginxconf's byte offsets and
// without changing any line number: listeners move to 127.0.0.1 ephemeral
// ports, pid/log/temp paths into the directory, nginx runs in the
// foreground as one process, load_module lines are added for a dynamic
// lua-nginx-module and, for a stream{} block, a dynamic stream module, every upstream server address is mapped to a loopback
// backend (emulator.StartBackend, one per distinct address, as the
// emulator does; it answers HTTP/1, h2c, FastCGI, SCGI or uwsgi, whichever the
// connection opens with), a stock fastcgi_params, fastcgi.conf, uwsgi_params or
// scgi_params that a relative include names and the tree lacks is written
// into the copy from nginxconf's stock table (stock.go), and Lua balancers' set_current_peer is mapped to the same
// backends by a generated ngx/balancer.lua put first on lua_package_path,
// which wraps lua-resty-core's real module so the user's Lua runs
// unmodified.
//
// Containment. Before any nginx process starts (`nginx -t` already binds
// the listeners and runs init_by_lua), the configuration nginx will read
// (the rewritten copy plus any file an absolute include reaches outside
// it) is parsed again with nginxconf and every directive that opens a
// socket is checked: listen, upstream servers, every *_pass target,
// resolver, syslog targets, OCSP responders, auth_http. Each must be
// loopback (127.0.0.0/8, ::1, localhost) or a unix socket inside the
// run's directory; a target with a variable that could reach the host is
// refused; the run fails with an *UncontainedError naming the file, line
// and column of each. nginx then runs in a session of its own, which is
// killed at the end; on Linux this process is a child subreaper during
// runs (prctl PR_SET_CHILD_SUBREAPER), so a descendant that left the
// session (setsid, a double fork) is reparented here and killed too.
// nginx gets only PATH, TZ, LANG, LC_ALL and LD_LIBRARY_PATH of the
// caller's environment, so the configuration's Lua cannot read a CI job's
// secrets from it (files it can read are another matter, see above).
// Every run's directory is <TMPDIR>/ngxlint-<uid>/run-<pid>-<random>
// (the parent is 0700 and must belong to the user); it is removed at the
// end, and a run removes those of dead runs (a previous ngxlint killed
// with SIGKILL) when it starts.
//
// Synthetic files. A scenario may carry a file tree of its own
// (Scenario.Files: an alias finding's directory and the secret next to
// it). It is written into <run>/files/tree with O_EXCL (names must be
// clean relative paths), every absolute root and alias is pointed into
// it, and the configuration as nginx will read it is checked again
// (checkConfined, files.go): a root or alias with variables or outside
// the tree, an argument with ".." or a raw request variable, a variable
// other than $uri in a directive that sets the URI (nginx does not clean
// a rewritten URI, so captures can spell "/../"), SSI, or code that reads
// files itself (Lua, Perl, njs, load_module) makes the run refuse with
// emulator.ErrNotReplayable, before nginx starts.
//
// Client addresses. A request's RemoteAddr is what nginx sees: for an
// address of 127.0.0.0/8 the client binds its socket to it (every one is
// the loopback interface's on Linux); for any other, the copy gets
// `set_real_ip_from 127.0.0.1; real_ip_header X-Ngxlint-Client-Addr;` at
// http level and the client sends the address in that header. The run is
// refused (emulator.ErrNotReplayable) when that would change more than
// the address: the configuration uses realip itself, reads the header,
// $realip_remote_addr or $remote_port, or runs Lua, njs or perl code,
// which can read every request header (clientaddr.go).
//
// Request-chosen hosts. With Scenario.RequestHosts (an SSRF finding's
// replay) a proxy_pass whose host is one request variable is accepted
// where requesthost.go proves it can never hold an address; every
// resolver then points at a DNS stub on loopback that records the names
// asked and answers NXDOMAIN, so nginx never connects to such a host.
//
// Versions come from `nginx -V` and the Lua module file. The result has
// the emulator's JSON shape with "engine":"nginx", per-request error.log
// counts and the list of rewrites.
//
// It owns running nginx and observing it. It does not build the emulator's
// configuration (emulator/fromconf), judge what it observed (rules), or
// parse configurations (nginxconf).
package nginxengine
