#!/usr/bin/env bash
# Streaming prediction on big files: `house-price predict` and `evaluate` with the shipped model on
# California housing repeated to 1 M and 10 M rows (each copy's rows in the original order; the
# file is about 95 bytes per row). Prints rows per second and the peak resident memory of each
# command (GNU time's "Maximum resident set size"), to show that memory does not grow with the file.
# Usage: Benchmarks/predict-stream.sh [ROWS...]   (default: 1000000 10000000; needs data/fetch)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
[ -f data/california-housing/housing.csv ] || { echo "predict-stream: run data/fetch first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "predict-stream: needs GNU time (apt-get install time)" >&2; exit 1; }
swift build -c release --product house-price >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for rows in "${sizes[@]}"; do
    awk -v rows="$rows" 'NR == 1 { header = $0; next } { line[n++] = $0 }
        END { print header; for (i = 0; i < rows; i++) print line[i % n] }' \
        data/california-housing/housing.csv > "$work/big.csv"
    size=$(du -m "$work/big.csv" | cut -f1)
    for command in predict evaluate; do
        arguments=("$command" "$work/big.csv" --model data/models/house-price.safetensors)
        [ "$command" = predict ] && arguments+=(--output "$work/out.csv")
        start=$(date +%s.%N)
        /usr/bin/time -v .build/release/house-price "${arguments[@]}" >/dev/null 2>"$work/time.txt"
        end=$(date +%s.%N)
        peak=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
        python3 -c "import sys; rows, seconds, peak, size, command = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]; \
print(f'{command:<9} {rows:>10,} rows ({size} MB): {seconds:6.1f} s, {rows / seconds:>9,.0f} rows/s, peak memory {peak / 1024:6.1f} MB')" \
            "$rows" "$(echo "$end - $start" | bc)" "$peak" "$size" "$command"
    done
    rm -f "$work/out.csv"
done
