#!/usr/bin/env bash
# Tests the pre-commit hook in .pre-commit-hooks.yaml the way pre-commit runs
# it, without needing pre-commit itself: build the binary as the golang
# language does (go install of the hook repository), make a temporary git
# repository, stage configurations, select the staged files with the hook's
# `files` regex (git diff --cached, as pre-commit's default "staged files"
# mode), run the hook's `entry` with those file names appended, and check
# the exit code. Run by `go test ./cmd/ngxlint` (TestPreCommitScript).
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

echo "building ngxlint (as pre-commit's golang language does)"
(cd "$root" && GOBIN="$tmp/bin" go install ./cmd/ngxlint)
export PATH="$tmp/bin:$PATH"

repo="$tmp/repo"
mkdir -p "$repo"
cd "$repo"
git init -q .
git config user.email test@example.invalid
git config user.name test
git config commit.gpgsign false

fails=0
# run_hook NAME WANT_EXIT: what pre-commit does on `git commit`.
run_hook() {
  local name="$1" want="$2" names code=0
  names="$(git diff --cached --name-only --diff-filter=ACMR | grep -E "$files" || true)"
  if [ -z "$names" ]; then
    echo "ngxlint...(no files to check)Skipped"
    code=0
  else
    # shellcheck disable=SC2086 # pre-commit appends the file names as separate arguments
    $entry $names > "$tmp/out" 2>&1 || code=$?
  fi
  if [ "$code" != "$want" ]; then
    echo "FAIL $name: exit $code, want $want"; cat "$tmp/out" 2>/dev/null || true
    fails=$((fails + 1))
  else
    echo "ok   $name: exit $code"
  fi
  : > "$tmp/out"
}

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
grep -q NGX2002 <(ngxlint check nginx.conf || true) || { echo "FAIL: NGX2002 not reported"; fails=$((fails + 1)); }

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

if [ "$fails" -ne 0 ]; then
  echo "pre-commit hook: $fails check(s) failed"
  exit 1
fi
echo "pre-commit hook: all checks passed"
