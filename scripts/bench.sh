#!/usr/bin/env bash
# scripts/bench.sh: the performance benchmark of issue 7, in one run.
#
# Builds the CLI and the drivers under bench/, generates the inputs
# (internal/gen, internal/luagen), then times with bench/measure (median of
# N runs after a warm-up, the compared commands interleaved round by round;
# wall time includes process start; CPU time and peak RSS from wait4's
# rusage):
#   - ngxlint check of the reference config (5,000 servers x 3 locations,
#     5,000 upstreams, 500 with balancer_by_lua_block, ~128,000 lines), and
#     of the same servers spread over a 341-file include tree;
#   - nginx -t on the same config (skipped when nginx or its lua module is
#     absent);
#   - gonginx's parse of it through bench/gonginxparse;
#   - luacheck on a generated 50,000-line Lua file, against ngxlint's Lua
#     analysis of it (bench/luaanalyze) and ngxlint check of a config whose
#     content_by_lua_file is that file;
#   - check of examples/seed/nginx.conf and check --confirm of it on
#     lua-nginx-module 0.10.0;
# checks that two runs of check on the big config print the same bytes, and
# prints the ratios the targets are stated in, plus (LINEARITY=1, the
# default) the 1x/4x/16x Go benchmark of the whole pipeline.
#
# Environment: N (rounds of runs, default 5), SLOW_N (rounds that include
# luacheck and nginx -t, default 3), OUT (work directory, default bench/out), NGINX (default
# /usr/sbin/nginx or nginx on PATH), LUACHECK (default luacheck on PATH),
# LINEARITY (0 skips the Go benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-5}
SLOW_N=${SLOW_N:-3}
OUT=${OUT:-bench/out}
LINEARITY=${LINEARITY:-1}
NGINX=${NGINX:-$(command -v nginx || { test -x /usr/sbin/nginx && echo /usr/sbin/nginx; } || true)}
LUACHECK=${LUACHECK:-$(command -v luacheck || true)}
MODDIR=${MODDIR:-/usr/share/nginx/modules}

rm -rf "$OUT"
mkdir -p "$OUT/bin"
OUT=$(cd "$OUT" && pwd)
BIN=$OUT/bin
R=$OUT/results.tsv

go build -o "$BIN/ngxlint" ./cmd/ngxlint
# The helpers carry the ngxlint_tools build tag (kept out of go install ./...).
go build -tags ngxlint_tools -o "$BIN/" ./bench/gen ./bench/gonginxparse ./bench/measure ./bench/luaanalyze
M=$BIN/measure

echo "# ngxlint benchmark ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' + local changes'))"
echo "machine: $("$M" machine)"
echo "go: $(go version | cut -d' ' -f3-)"
if [ -n "$NGINX" ]; then echo "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"; fi
if [ -n "$LUACHECK" ]; then echo "luacheck: $("$LUACHECK" --version | head -1)"; fi
echo

# Inputs. nginx -t needs the ndk and lua modules loaded for
# balancer_by_lua_block and init_by_lua_block on Debian's dynamic build.
modflags=()
nginx_ok=""
if [ -n "$NGINX" ]; then
	if "$NGINX" -V 2>&1 | grep -q -- '--add-module=[^ ]*lua-nginx-module'; then
		nginx_ok=1 # lua built in
	elif [ -f "$MODDIR/ndk_http_module.so" ] && [ -f "$MODDIR/ngx_http_lua_module.so" ]; then
		modflags=(-module "$MODDIR/ndk_http_module.so" -module "$MODDIR/ngx_http_lua_module.so")
		nginx_ok=1
	fi
fi
echo "inputs:"
"$BIN/gen" -shape reference -out "$OUT/reference" "${modflags[@]}" | sed 's/^/  /'
"$BIN/gen" -shape includes -out "$OUT/includes" "${modflags[@]}" | sed 's/^/  /'
mkdir -p "$OUT/luafile/lua"
"$BIN/gen" -lua 50000 -out "$OUT/luafile/lua/gen.lua"
echo "  lua: $(wc -l <"$OUT/luafile/lua/gen.lua") lines, $(wc -c <"$OUT/luafile/lua/gen.lua") bytes in $OUT/luafile/lua/gen.lua"
"$BIN/gen" -shape minimal -lua-file lua/gen.lua -out "$OUT/luafile" | sed 's/^/  /'
echo

# The versions of the nginx timed below (Debian 12: nginx 1.22.1 with
# lua-nginx-module 0.10.23), so that check judges the deployment nginx -t
# loads; without them every version-dependent rule reports what would be
# affected (check-reference-unknown).
VERS=(--nginx-version 1.22.1 --lua-nginx-module-version 0.10.23)
NG="$BIN/ngxlint"

# The compared commands run interleaved, one run of each per round, so
# that load from other processes falls on both sides of every ratio. The
# slow baselines (nginx -t, luacheck) take part in the first SLOW_N rounds.
# Each entry: name|accepted exit codes|slow|command (words split on spaces;
# no path here contains one).
cmds=(
	"check-reference|0,1||$NG check --no-config ${VERS[*]} $OUT/reference/nginx.conf"
	"check-reference-unknown|0,1||$NG check --no-config $OUT/reference/nginx.conf"
	"confirm-reference|0,1||$NG check --no-config --confirm ${VERS[*]} $OUT/reference/nginx.conf"
	"check-includes|0,1||$NG check --no-config ${VERS[*]} $OUT/includes/nginx.conf"
	"gonginx-parse|0||$BIN/gonginxparse $OUT/reference/nginx.conf"
	"lua-analyze-50k|0||$BIN/luaanalyze $OUT/luafile/lua/gen.lua"
	"check-lua-50k|0,1||$NG check --no-config ${VERS[*]} $OUT/luafile/nginx.conf"
	# The seed's confirmation scenario (a backend that closes every reused
	# connection: 1,000 attempts) on each emulator transport.
	"emulate-seed-memory|0,1||$NG emulate --no-config --transport memory --backend first-only --nginx-version 1.9.7 --lua-nginx-module-version 0.10.0 examples/seed/nginx.conf"
	"emulate-seed-tcp|0,1||$NG emulate --no-config --transport tcp --backend first-only --nginx-version 1.9.7 --lua-nginx-module-version 0.10.0 examples/seed/nginx.conf"
)
if [ -n "$nginx_ok" ]; then
	cmds+=("nginx-t|0|slow|$NGINX -t -q -p $OUT/reference/ -c $OUT/reference/nginx.conf")
	cmds+=("nginx-t-includes|0|slow|$NGINX -t -q -p $OUT/includes/ -c $OUT/includes/nginx.conf")
else
	"$M" skip -name nginx-t -results "$R" -note "nginx with the lua module not found (NGINX=$NGINX, MODDIR=$MODDIR)"
fi
if [ -n "$LUACHECK" ]; then
	# Exit 1: luacheck found warnings (the file has deliberate ones).
	cmds+=("luacheck-50k|0,1|slow|$LUACHECK --codes --formatter plain --std ngx_lua --no-config --no-cache $OUT/luafile/lua/gen.lua")
else
	"$M" skip -name luacheck-50k -results "$R" -note "luacheck not found"
fi
echo "runs: $N interleaved rounds ($SLOW_N with nginx -t and luacheck), after one warm-up round"
for round in $(seq 0 "$N"); do
	for c in "${cmds[@]}"; do
		IFS='|' read -r name ok slow cmd <<<"$c"
		if [ -n "$slow" ] && [ "$round" -gt "$SLOW_N" ]; then continue; fi
		warm=(-n 1 -warmup=false)
		if [ "$round" = 0 ]; then warm=(-n 0); fi
		# shellcheck disable=SC2086 # cmd is split into words on purpose
		"$M" run -quiet -name "$name" -results "$R" "${warm[@]}" -ok "$ok" -stdout "$OUT/$name.out" -- $cmd
	done
done
"$M" run -name check-seed -results "$R" -n $((N * 4)) -ok 0,1 -- "$NG" check --no-config examples/seed/nginx.conf
"$M" run -name confirm-seed -results "$R" -n $((N * 2)) -ok 1 -stdout "$OUT/confirm-seed.out" -- \
	"$NG" check --no-config --confirm --lua-nginx-module-version 0.10.0 examples/seed/nginx.conf
grep -q 'confirmed:' "$OUT/confirm-seed.out" || { echo "confirm-seed: the finding was not confirmed" >&2; exit 1; }
# Issue 17's target counts only if every confirmation completed within
# the default --confirm-timeout.
"$NG" check --no-config --confirm --format json "${VERS[@]}" "$OUT/reference/nginx.conf" >"$OUT/confirm-reference.json" 2>"$OUT/confirm-reference.err" || true
if grep -q 'ran out' "$OUT/confirm-reference.err"; then
	echo "confirm-reference: not every confirmation completed: $(cat "$OUT/confirm-reference.err")" >&2
	exit 1
fi
echo "confirm-reference: every confirmation completed; $(grep -o '"status": *"confirmed"' "$OUT/confirm-reference.json" | wc -l) confirmed"
echo
echo "findings: check-reference $(tail -1 "$OUT/check-reference.out"); check-reference-unknown (no versions declared) $(tail -1 "$OUT/check-reference-unknown.out"); check-includes $(tail -1 "$OUT/check-includes.out"); check-lua-50k $(tail -1 "$OUT/check-lua-50k.out")"

# Both transports carry the same bytes: the same report.
cmp -s "$OUT/emulate-seed-memory.out" "$OUT/emulate-seed-tcp.out" || { echo "emulate-seed: the transports disagree" >&2; exit 1; }

# Rules and Lua chunks run in parallel; the output must not depend on it.
"$NG" check --no-config "${VERS[@]}" "$OUT/reference/nginx.conf" >"$OUT/det1.out" || true
GOMAXPROCS=1 "$NG" check --no-config "${VERS[@]}" "$OUT/reference/nginx.conf" >"$OUT/det2.out" || true
if cmp -s "$OUT/det1.out" "$OUT/det2.out" && cmp -s "$OUT/det1.out" "$OUT/check-reference.out"; then
	echo "determinism: check of the reference config printed identical output in 3 runs (GOMAXPROCS default and 1): $(wc -c <"$OUT/det1.out") bytes, $(tail -1 "$OUT/det1.out")"
else
	echo "determinism: FAILED, outputs differ ($OUT/det1.out, $OUT/det2.out, $OUT/check-reference.out)"
	exit 1
fi
echo

"$M" report -results "$R"

if [ "$LINEARITY" != 0 ]; then
	# Wall time per line is only meaningful on an idle machine; CPU time
	# per line (getrusage, all threads, GC included) and bytes per line are
	# what show the growth.
	table='/^Benchmark/ {
		name=$1; sub(/^Benchmark[A-Za-z]+\//, "", name); sub(/-[0-9]+$/, "", name)
		delete v
		for (i = 2; i < NF; i++) { v[$(i+1)] = $i }
		printf "  %-14s %8d lines  %9.1f ms/op  %7.0f ns/line  %7.0f cpu-ns/line  %6.0f B/line  %5.1f allocs/line\n", name, v["lines"], v["ns/op"]/1e6, v["ns/line"], v["cpu-ns/line"], v["B/op"]/v["lines"], v["allocs/op"]/v["lines"]
	}'
	echo
	echo "linearity, whole pipeline (go test -bench BenchmarkPipeline ./rules: load + model + every rule, in-process, 1x/4x/16x):"
	go test -run '^$' -bench 'BenchmarkPipeline' -benchtime 3x -benchmem ./rules/ | awk "$table"
	echo
	echo "linearity, Lua analysis of one chunk (go test -bench BenchmarkAnalyzeScale ./luacheck):"
	go test -run '^$' -bench 'BenchmarkAnalyzeScale' -benchtime 3x -benchmem ./luacheck/ | awk "$table"
fi
