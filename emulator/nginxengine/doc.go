// Package nginxengine runs an emulator scenario through a real nginx binary
// instead of the Go emulator: it is `--engine nginx`, and the referee of the
// emulator in the differential test suite (testdata/diff, diff_test.go).
//
// A run copies the user's configuration tree into a private temporary
// prefix and edits only what the scenario needs, at nginxconf's byte
// offsets and without changing any line number: listeners move to
// 127.0.0.1 ephemeral ports, pid/log/temp paths into the prefix, nginx runs
// in the foreground as one process, load_module lines are added for a
// dynamic lua-nginx-module, every upstream server address is mapped to a
// loopback backend (emulator.StartBackend, one per distinct address, as the
// emulator does), and Lua balancers' set_current_peer is mapped to the same
// backends by a generated ngx/balancer.lua put first on lua_package_path,
// which wraps lua-resty-core's real module so the user's Lua runs
// unmodified. `nginx -T` checks the result (and that no listen escaped
// loopback) before nginx starts in its own process group, which is always
// killed; the prefix is always removed. Versions come from `nginx -V` and
// the Lua module file. The result has the emulator's JSON shape with
// "engine":"nginx", per-request error.log counts and the list of rewrites.
//
// It owns running nginx and observing it. It does not build the emulator's
// configuration (emulator/fromconf), judge what it observed (rules), or
// parse configurations (nginxconf).
package nginxengine
