#!/usr/bin/env bash
# Runs tests under a sanitizer and fails on any report:
#   thread:  the concurrency tests (one network shared by 8 predicting threads, the thread-count
#            independence of training, the kernels' parallel paths, fork-join itself); about 3
#            minutes; CI runs it;
#   address: the whole test suite, parsers and command-line tools included (the tools it runs are
#            built with the sanitizer too); about 16 minutes on two cores, in a debug build.
# Builds into .build-<sanitizer>-sanitized so the normal builds are left alone.
# Usage: Tools/sanitizers.sh [thread|address]
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizer="${1:-thread}"
filter="NetworkTests|TrainingTests/determinism|KernelTests/threadCountIndependence|StepReferenceTests/convolution|ParallelTests"
[ "$sanitizer" = address ] && filter="."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# XCTest's own runner leaks two small objects at exit, and Foundation's Process.run one weak
# reference per launched tool; our code must not leak anything.
suppressions="$(mktemp)"
printf 'leak:libXCTest.so\nleak:$s10Foundation7ProcessC3runyyKF\n' > "$suppressions"
trap 'rm -f "$log" "$suppressions"' EXIT
export LSAN_OPTIONS="suppressions=$suppressions"
status=0
swift test --scratch-path ".build-$sanitizer-sanitized" --sanitize="$sanitizer" --filter "$filter" >"$log" 2>&1 || status=$?
tail -3 "$log"
reports=$(grep -c "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$log" || true)
if [ "$status" -ne 0 ] || [ "$reports" -ne 0 ]; then
    grep -A20 -m3 "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$log" >&2 || tail -40 "$log" >&2
    echo "sanitizers: $sanitizer: exit status $status, $reports report(s)" >&2
    exit 1
fi
echo "sanitizers: $sanitizer: the $([ "$sanitizer" = address ] && echo "whole suite passes" || echo "concurrency tests pass") with no report"
