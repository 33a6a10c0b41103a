#!/usr/bin/env bash
# Tests the pre-commit hook in .pre-commit-hooks.yaml the way pre-commit runs
# it, without needing pre-commit itself: build the binary as the golang
# language does (`go install ./...` of the hook repository, which must
# install ngxlint and nothing else), make temporary git repositories, stage
# files, select the staged files with the hook's `files` regex (git diff
# --cached, as pre-commit's default "staged files" mode), run the hook's
# `entry` with those file names appended at the top of the work tree, and
# check the exit code and the findings. Run by `go test ./cmd/ngxlint`
# (TestPreCommitScript).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hooks="$root/.pre-commit-hooks.yaml"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

entry="$(sed -n 's/^  entry: *//p' "$hooks")"
files="$(sed -n "s/^  files: *'\(.*\)'$/\1/p" "$hooks")"
language="$(sed -n 's/^  language: *//p' "$hooks")"
[ "$language" = golang ] || { echo "hook language is '$language', want golang"; exit 1; }
[ -n "$entry" ] && [ -n "$files" ] || { echo "cannot read entry/files from $hooks"; exit 1; }

fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

echo "building ngxlint (as pre-commit's golang language does: go install ./...)"
(cd "$root" && GOBIN="$tmp/bin" go install ./...)
# Only ngxlint lands on the hook's PATH: the benchmark helpers and
# luacheck's generators carry the ngxlint_tools build tag.
for b in "$tmp"/bin/*; do
  name="$(basename "$b")"
  [ "$name" = ngxlint ] && continue
  fail "go install ./... of the hook repository installs $name besides ngxlint"
done
[ -x "$tmp/bin/ngxlint" ] || { echo "FAIL: ngxlint not installed"; exit 1; }
export PATH="$tmp/bin:$PATH"

new_repo() {
  rm -rf "$1"
  mkdir -p "$1"
  cd "$1"
  git init -q .
  git config user.email test@example.invalid
  git config user.name test
  git config commit.gpgsign false
}

# run_hook NAME WANT_EXIT [WANT_FINDINGS]: what pre-commit does on `git
# commit`. WANT_FINDINGS, when given, is the exact list of findings
# ("file:line:col ID", one per line, sorted; "" for none). The output
# stays in $tmp/out for further checks.
run_hook() {
  local name="$1" want="$2" names code=0 got
  names="$(git diff --cached --name-only --diff-filter=ACMR | grep -E "$files" || true)"
  : > "$tmp/out"
  if [ -z "$names" ]; then
    echo "ngxlint...(no files to check)Skipped" > "$tmp/out"
    code=0
  else
    # shellcheck disable=SC2086 # pre-commit appends the file names as separate arguments
    $entry $names > "$tmp/out" 2>&1 || code=$?
  fi
  if [ "$code" != "$want" ]; then
    fail "$name: exit $code, want $want"; cat "$tmp/out"
    return
  fi
  if [ $# -ge 3 ]; then
    got="$(sed -nE 's/^([^ :]+:[0-9]+:[0-9]+): [a-z]+: .*\[([A-Z]+[0-9]+) [^]]*\]$/\1 \2/p' "$tmp/out" | sort)"
    if [ "$got" != "$3" ]; then
      fail "$name: findings"; echo "got:"; echo "$got"; echo "want:"; echo "$3"; cat "$tmp/out"
      return
    fi
  fi
  echo "ok   $name: exit $code"
}

# expect_out NAME [!]TEXT: the last hook output has (or, with !, lacks) TEXT.
expect_out() {
  local name="$1" text="$2"
  if [ "${text#!}" != "$text" ]; then
    if grep -qF -- "${text#!}" "$tmp/out"; then fail "$name: output has '${text#!}'"; cat "$tmp/out"; fi
  elif ! grep -qF -- "$text" "$tmp/out"; then
    fail "$name: output lacks '$text'"; cat "$tmp/out"
  fi
}

new_repo "$tmp/repo"

cat > nginx.conf <<'CONF'
events {}
http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
git add nginx.conf
run_hook "clean config" 0
git commit -qm clean

# keepalive without HTTP/1.1: NGX2002 (warning) fails the commit.
sed -i '/proxy_http_version/d; /proxy_set_header Connection/d' nginx.conf
git add nginx.conf
run_hook "keepalive-not-effective" 1
expect_out "keepalive-not-effective" NGX2002

# A reviewed suppression with a reason lets it through.
sed -i 's|^        location / {|        # ngxlint:ignore NGX2002 reviewed: the backend closes idle connections itself\n        location / {|' nginx.conf
git add nginx.conf
run_hook "suppressed with a reason" 0

# Without a reason the ignore is itself an error (NGX0001).
sed -i 's|# ngxlint:ignore NGX2002 reviewed: .*|# ngxlint:ignore NGX2002|' nginx.conf
git add nginx.conf
run_hook "ignore without reason" 1
git checkout -q HEAD -- nginx.conf
git add nginx.conf

# A syntax error is exit 2.
printf 'http {\n    server {\n' > broken.conf
git add broken.conf
run_hook "syntax error" 2
git rm -q --cached broken.conf && rm broken.conf

# Only a Lua file is staged: it is checked through the target that loads it.
mkdir -p lua
printf 'targets: [nginx.conf]\n' > .ngxlint.yaml
sed -i 's|^            proxy_set_header Connection "";|            proxy_set_header Connection "";\n        }\n        location /lua {\n            content_by_lua_file lua/app.lua;|' nginx.conf
printf 'counter = 1\nngx.say(counter)\n' > lua/app.lua
git add .ngxlint.yaml nginx.conf
git commit -qm "lua location"
git add lua/app.lua
run_hook "staged Lua file with a global write" 1

# Nothing matching the hook's files is staged: pre-commit skips the hook.
printf 'notes\n' > README.md
git reset -q
git add README.md
run_hook "no matching files" 0

# --- An OpenResty repository (issue 18): conf/nginx.conf includes
# conf/conf.d/*.conf, which load lua/*.lua relative to the prefix (the
# parent of conf/) and require lua/util.lua through lua_package_path. The
# committed tree has findings: NGX2002 in conf.d/api.conf (its upstream is
# in nginx.conf) and LUA1111/LUA1113 on line 3 of lua/access.lua. Each
# staged subset must be checked in conf/nginx.conf and fail only on its
# own findings; once with targets in .ngxlint.yaml, once with none (the
# main configuration is found as the repository's nginx.conf; with no
# .ngxlint.yaml at all the git work tree is searched: TestChangedFileMapping).
openresty_repo() {
  new_repo "$1"
  mkdir -p conf/conf.d lua
  cat > conf/nginx.conf <<'CONF'
events {}
http {
    lua_package_path "$prefix/lua/?.lua;;";
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    include conf.d/*.conf;
}
CONF
  cat > conf/conf.d/api.conf <<'CONF'
server {
    listen 8080;
    location /api {
        access_by_lua_file lua/access.lua;
        proxy_pass http://app;
    }
}
CONF
  cat > conf/conf.d/web.conf <<'CONF'
server {
    listen 8081;
    location / {
        content_by_lua_block {
            local util = require "util"
            ngx.say(util.greet())
        }
    }
}
CONF
  cat > lua/access.lua <<'LUA'
local util = require "util"
if not util.allowed(ngx.var.remote_addr) then
    hits = (hits or 0) + 1
    return ngx.exit(403)
end
LUA
  cat > lua/util.lua <<'LUA'
local _M = {}
function _M.allowed(addr)
    return addr ~= nil
end
function _M.greet()
    return "hi"
end
return _M
LUA
  git add -A
  git commit -qm "OpenResty tree with findings" # committed before the hook
}

for layout in targets discovered; do
  openresty_repo "$tmp/openresty-$layout"
  # The versions are declared in both (as the issue's repository does);
  # only the first lists the main configuration.
  printf 'versions: {openresty: 1.21.4.1}\n' > .ngxlint.yaml
  if [ "$layout" = targets ]; then
    printf 'targets: [conf/nginx.conf]\n' >> .ngxlint.yaml
  fi
  git add .ngxlint.yaml && git commit -qm config
  echo "--- OpenResty repository, main configuration $layout"

  # One Lua module, a clean change: the findings of access.lua and api.conf
  # (not staged) do not fail the commit.
  printf 'function _M.version()\n    return 2\nend\nreturn _M\n' > "$tmp/util-tail"
  sed -i '$d' lua/util.lua && cat "$tmp/util-tail" >> lua/util.lua
  git add lua/util.lua
  run_hook "$layout: staged clean Lua module, findings elsewhere" 0 ""
  expect_out "$layout: staged clean Lua module" "!no configuration loads it"
  git commit -qm util

  # One Lua file with findings: only its own, judged in its phase.
  sed -i 's|^    return ngx.exit(403)|    ngx.log(ngx.WARN, "denied")\n    return ngx.exit(403)|' lua/access.lua
  git add lua/access.lua
  run_hook "$layout: staged Lua file" 1 "lua/access.lua:3:13 LUA1113
lua/access.lua:3:5 LUA1111"
  expect_out "$layout: staged Lua file" "in access_by_lua_file"
  expect_out "$layout: staged Lua file" "!api.conf"
  git commit -qm access

  # One conf.d file: checked in conf/nginx.conf, so its Lua file is found
  # (no false NGX1001 "cannot read Lua file conf/conf.d/lua/access.lua")
  # and its own finding, which needs the upstream, is reported.
  sed -i 's|^        proxy_pass http://app;|        proxy_pass http://app;\n        proxy_read_timeout 30s;|' conf/conf.d/api.conf
  git add conf/conf.d/api.conf
  run_hook "$layout: staged conf.d file" 1 "conf/conf.d/api.conf:5:9 NGX2002"
  expect_out "$layout: staged conf.d file" "!cannot read Lua file"
  # The fix passes although access.lua still has findings.
  sed -i 's|^        proxy_read_timeout 30s;|        proxy_http_version 1.1;\n        proxy_set_header Connection "";|' conf/conf.d/api.conf
  git add conf/conf.d/api.conf
  run_hook "$layout: staged fix of the conf.d file" 0 ""
  git commit -qm "api: keepalive"

  # New files: a server picked up by the include glob and the Lua it runs.
  cat > conf/conf.d/admin.conf <<'CONF'
server {
    listen 8082;
    location / {
        content_by_lua_file lua/admin.lua;
    }
}
CONF
  printf 'local util = require "util"\nadmins = util.greet()\nngx.say(admins)\n' > lua/admin.lua
  git add conf/conf.d/admin.conf lua/admin.lua
  # The global is reported at its write (LUA1111); the read on the next
  # line is not a second, "undefined" report.
  run_hook "$layout: new conf.d and Lua files" 1 "lua/admin.lua:2:1 LUA1111"
  expect_out "$layout: new conf.d and Lua files" "in content_by_lua_file"
  git commit -qm admin

  # A new Lua file nothing loads yet: checked on its own, with a note.
  printf 'leaked = 1\nreturn {}\n' > lua/tool.lua
  git add lua/tool.lua
  run_hook "$layout: new Lua file no configuration loads" 1 "lua/tool.lua:1:1 LUA1111"
  expect_out "$layout: new Lua file no configuration loads" "lua/tool.lua: no configuration loads it"
  git reset -q && rm lua/tool.lua
done

if [ "$fails" -ne 0 ]; then
  echo "pre-commit hook: $fails check(s) failed"
  exit 1
fi
echo "pre-commit hook: all checks passed"
