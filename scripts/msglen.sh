#!/usr/bin/env bash
# scripts/msglen.sh: how long ngxlint's finding messages are (issue 18, "lead
# with the problem in one short sentence"). Prints count, average, median and
# maximum message length in characters over:
#   - the reference config of scripts/bench.sh (bench/gen -shape reference)
#     with OpenResty 1.21.4.1 declared;
#   - every whole configuration of ../shared/corpus (MANIFEST role "config")
#     and every entry configuration of ../shared/apps (with the app's
#     prefix), once with no versions declared and once with OpenResty
#     1.21.4.1 declared;
# and the same for confirmation summaries of the reference config and
# examples/seed confirmed as scripts/bench.sh confirms them.
# Messages are what `check --no-config --format json` prints; the reference
# config is checked once per run, the sets once per target.
#
# Environment: NGXLINT (a built binary to measure instead of building one from
# this tree), SHARED (default ../shared), OUT (work directory, default a
# temporary one).
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED=${SHARED:-../shared}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
if [ -z "${NGXLINT:-}" ]; then
	go build -o "$OUT/ngxlint" ./cmd/ngxlint
	NGXLINT=$OUT/ngxlint
fi
go build -tags ngxlint_tools -o "$OUT/" ./bench/gen

# stats FILE LABEL: FILE holds one JSON string per line (the messages).
stats() {
	jq -rs --arg name "$2" '
		map(length) | sort as $l | ($l | length) as $n |
		if $n == 0 then "\($name): 0 messages" else
		"\($name): n=\($n) avg=\(($l | add) / $n | . * 10 | round / 10) median=\(if $n % 2 == 1 then $l[($n - 1) / 2] else ($l[$n / 2 - 1] + $l[$n / 2]) / 2 end) max=\($l[-1]) over160=\($l | map(select(. > 160)) | length)"
		end' "$1"
}

# collect OUTFILE ARGS...: run check, append messages and summaries.
collect() {
	local out=$1
	shift
	"$NGXLINT" check --no-config --format json "$@" 2>/dev/null >"$OUT/one.json" || true
	jq -c '.findings[]?.message' "$OUT/one.json" >>"$out.msg"
	jq -r '.findings[]? | [.rule, .message] | @tsv' "$OUT/one.json" >>"$out.tsv"
}

"$OUT/gen" -shape reference -out "$OUT/ref" >/dev/null
: >"$OUT/ref.msg"
: >"$OUT/ref.tsv"
collect "$OUT/ref" --openresty-version 1.21.4.1 "$OUT/ref/nginx.conf"
stats "$OUT/ref.msg" "reference (openresty 1.21.4.1) messages"

# Confirmation summaries: the reference config and examples/seed confirmed
# as scripts/bench.sh does.
"$NGXLINT" check --no-config --confirm --format json --openresty-version 1.21.4.1 "$OUT/ref/nginx.conf" 2>/dev/null >"$OUT/one.json" || true
jq -c '.findings[]? | .confirmation.summary? // empty' "$OUT/one.json" >"$OUT/sum.msg"
"$NGXLINT" check --no-config --confirm --format json --lua-nginx-module-version 0.10.0 examples/seed/nginx.conf 2>/dev/null >"$OUT/one.json" || true
jq -c '.findings[]? | .confirmation.summary? // empty' "$OUT/one.json" >>"$OUT/sum.msg"
stats "$OUT/sum.msg" "confirmation summaries (reference + seed)"

if [ ! -f "$SHARED/corpus/MANIFEST.jsonl" ] || [ ! -f "$SHARED/apps/MANIFEST.jsonl" ]; then
	echo "$SHARED/corpus or $SHARED/apps is absent: sets skipped"
	exit 0
fi
for mode in none openresty; do
	: >"$OUT/sets-$mode.msg"
	: >"$OUT/sets-$mode.tsv"
	vflags=()
	[ "$mode" = openresty ] && vflags=(--openresty-version 1.21.4.1)
	while read -r path; do
		collect "$OUT/sets-$mode" "${vflags[@]}" "$SHARED/corpus/$path"
	done < <(jq -r 'select(.role == "config") | .path' "$SHARED/corpus/MANIFEST.jsonl")
	while IFS=$'\t' read -r folder prefix path; do
		pflags=()
		[ -n "$prefix" ] && pflags=(--prefix "$SHARED/apps/$folder/$prefix")
		collect "$OUT/sets-$mode" "${vflags[@]}" "${pflags[@]}" "$SHARED/apps/$folder/$path"
	done < <(jq -r '.folder as $f | (.prefix // "") as $p | .entry_configs[] | [$f, $p, .path] | @tsv' "$SHARED/apps/MANIFEST.jsonl")
	stats "$OUT/sets-$mode.msg" "corpus+apps ($mode declared) messages"
done
echo "longest messages (corpus+apps, no versions):"
jq -r '"\(length)\t\(.)"' "$OUT/sets-none.msg" "$OUT/sets-openresty.msg" "$OUT/ref.msg" | sort -rn | uniq | head -5 | cut -c1-400
