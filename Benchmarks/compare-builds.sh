#!/usr/bin/env bash
# Side by side: this checkout's bench against the bench of another revision (default: HEAD~1),
# built in a temporary worktree, run alternately ROUNDS times on this machine. Prints each
# figure's median over the rounds for both builds and the ratio this / that (for latencies,
# that / this, so above 1 always means this build is faster), with the spread across rounds.
# Usage: Benchmarks/compare-builds.sh [REVISION] [--rounds N] [--only LIST] [--quick]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
revision=HEAD~1 rounds=3 extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --only) extra+=(--only "$2"); shift 2 ;;
        --quick) extra+=(--quick); shift ;;
        -*) echo "usage: $0 [REVISION] [--rounds N] [--only LIST] [--quick]" >&2; exit 2 ;;
        *) revision="$1"; shift ;;
    esac
done
source "$root/Benchmarks/other-build.sh"
build_other "$revision" bench
swift build -c release --product bench >&2
for round in $(seq 1 "$rounds"); do
    echo "round $round of $rounds" >&2
    "$work/other/.build/release/bench" --json "${extra[@]}" > "$work/that-$round.jsonl"
    .build/release/bench --json "${extra[@]}" > "$work/this-$round.jsonl"
done
python3 - "$work" "$rounds" "$revision" <<'PY'
import json, statistics, sys
work, rounds, revision = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def load(name):
    return [{r["name"]: r for r in map(json.loads, open(f"{work}/{name}-{k}.jsonl")) if "median" in r}
            for k in range(1, rounds + 1)]
this, that = load("this"), load("that")
print(f"{'figure':<24}{revision:>22}{'this build':>22}{'ratio':>8} [min-max over rounds]")
for name in this[0]:
    if name not in that[0]:
        continue
    unit = this[0][name]["unit"]
    a = [r[name]["median"] for r in that]
    b = [r[name]["median"] for r in this]
    ratios = [(x / y) if unit in ("us", "ms") else (y / x) for x, y in zip(a, b)]
    print(f"{name:<24}{statistics.median(a):>22.1f}{statistics.median(b):>22.1f}{statistics.median(ratios):>8.2f}"
          f" [{min(ratios):.2f}-{max(ratios):.2f}]  {unit}")
PY
