#!/usr/bin/env bash
# Runs the concurrency tests under the thread (or address) sanitizer: one network shared by 8 predicting
# threads, the thread-count independence of training, and the kernels' parallel paths. Fails on
# any sanitizer report. Builds into .build-tsan so the normal builds are left alone.
# Usage: Tools/sanitizers.sh [thread|address]
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizer="${1:-thread}"
filter="NetworkTests|TrainingTests/determinism|KernelTests/threadCountIndependence|StepReferenceTests/convolution"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# XCTest's own runner leaks two small objects at exit; our code must not leak anything.
suppressions="$(mktemp)"
echo "leak:libXCTest.so" > "$suppressions"
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
echo "sanitizers: $sanitizer: the concurrency tests pass with no report"
