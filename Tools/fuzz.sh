#!/usr/bin/env bash
# Runs the libFuzzer harnesses (Tools/fuzz/README.md): builds them with -sanitize=fuzzer,address in
# .build-fuzz (the ordinary build is left alone), then fuzzes each for SECONDS from its committed
# seed corpus, with new coverage kept in a working corpus outside the repository. Prints the
# executions, coverage and corpus size libFuzzer reports. A crash stops with its input saved as
# Tests/Fixtures/fuzz/<harness>/crash-<hash>, which the test suite then replays.
# Usage: Tools/fuzz.sh NAME|all SECONDS [JOBS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
harnesses=(fuzz-csv fuzz-png fuzz-safetensors fuzz-digits-model fuzz-house-price-model)
name="${1:?usage: Tools/fuzz.sh NAME|all SECONDS}"
seconds="${2:?usage: Tools/fuzz.sh NAME|all SECONDS}"
[ "$name" = all ] && selected=("${harnesses[@]}") || selected=("$name")
work="${FUZZ_WORK:-/tmp/backprop-fuzz}"
for harness in "${selected[@]}"; do
    swift build -c release --scratch-path .build-fuzz --product "$harness" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -D -Xswiftc FUZZING -Xswiftc -use-ld=lld 2>&1 \
        | grep -E "error|warning: unre|Build" >&2
    mkdir -p "$work/$harness"
    echo "== $harness, $seconds s" >&2
    # -max_len: model files and photos are larger than libFuzzer's default of 4 KB.
    status=0
    .build-fuzz/release/"$harness" "$work/$harness" "Tests/Fixtures/fuzz/$harness" \
        -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=4096 -timeout=20 -report_slow_units=3600 -print_final_stats=1 \
        -artifact_prefix="Tests/Fixtures/fuzz/$harness/" 2>"$work/$harness.log" || status=$?
    grep -E "^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss|cov:" "$work/$harness.log" | tail -3 >&2
    if [ $status -ne 0 ]; then
        grep -E "ERROR|SUMMARY|Test unit written" "$work/$harness.log" >&2 || true
        echo "$harness: libFuzzer stopped with status $status (see $work/$harness.log)" >&2
        exit 1
    fi
done
