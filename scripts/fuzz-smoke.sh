#!/bin/sh
# Runs every go test -fuzz target of the module briefly (issue 8): each for
# the given time (default 5s), one after another, so that CI notices a
# target that no longer builds or an input that now fails. Longer runs for
# finding bugs: the same command with -fuzztime 10m, one target at a time.
# A failing input is written to the package's testdata/fuzz/<Target>/;
# commit it with the fix so that `go test` keeps replaying it.
#
# Usage: scripts/fuzz-smoke.sh [DURATION]
#
# Without DURATION each target runs a fixed number of executions (the third
# column below), which is what CI uses: with a time budget, the deadline can
# fall while one input is still executing and `go test` then fails with
# "context deadline exceeded" although nothing is wrong (seen once in CI).
set -eu
cd "$(dirname "$0")/.."
t=${1:-}

# package  target  executions
targets='
./nginxconf FuzzParse 20000x
./nginxconf FuzzLoad 20000x
./nginxconf FuzzSplitDump 20000x
./directives FuzzCheckHandler 20000x
./luacheck FuzzAnalyze 20000x
./luacheck FuzzPrepass 20000x
./rules FuzzRules 5000x
./emulator FuzzScenario 500x
'

# Refuse to silently skip a target added later: every Fuzz function in the
# module must be in the list above.
found=$(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' --include='*_test.go' . | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' | sort)
listed=$(echo "$targets" | awk 'NF == 3 { print $2 }' | sort)
if [ "$found" != "$listed" ]; then
  echo "fuzz-smoke: the target list differs from the Fuzz functions in the module:" >&2
  echo "found:  " $found >&2
  echo "listed: " $listed >&2
  exit 1
fi

echo "$targets" | while read -r pkg fn n; do
  [ -n "$pkg" ] || continue
  budget=${t:-$n}
  echo "== $fn ($pkg, $budget)"
  go test -run '^$' -fuzz "^$fn\$" -fuzztime "$budget" -parallel 2 "$pkg"
done
