#!/usr/bin/env bash
# Cold start: `digits classify one.png` as a fresh process each time (the built binary, the shipped
# model, a 28×28 sample), timed by hyperfine over RUNS runs after 3 warm-up runs (which only bring
# the binary and the model into the page cache, as on any machine that has run it once). Issue
# 16's bar: at most 30 ms. Prints hyperfine's table and one summary line: median [min-max].
#   --against REVISION: also the same command as built at REVISION (in a temporary worktree),
#   timed in the same hyperfine run and reported beside it.
# Usage: Benchmarks/cold-start.sh [--runs N] [--against REVISION] [PNG]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
runs=30 against="" image=data/samples/0-7-gray8.png
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --against) against="$2"; shift 2 ;;
        -*) echo "usage: $0 [--runs N] [--against REVISION] [PNG]" >&2; exit 2 ;;
        *) image="$1"; shift ;;
    esac
done
command -v hyperfine >/dev/null || { echo "cold-start: hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
swift build -c release --product digits >&2
source "$root/Benchmarks/other-build.sh"
commands=(-n "this checkout" ".build/release/digits classify --model data/models/digits.safetensors $image")
if [ -n "$against" ]; then
    build_other "$against" digits
    commands+=(-n "at $against" "$work/other/.build/release/digits classify --model data/models/digits.safetensors $image")
fi
hyperfine --warmup 3 --runs "$runs" --shell=none --export-json "$work/cold.json" "${commands[@]}" >&2
python3 - "$work/cold.json" "$image" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
print(f"Cold start: digits classify {sys.argv[2]} as a fresh process, {len(results[0]['times'])} runs")
for result in results:
    times = [t * 1000 for t in result["times"]]
    print(f"  {result['command']:<28} median {statistics.median(times):6.1f} ms [{min(times):.1f}-{max(times):.1f}]")
PY
