#!/usr/bin/env bash
# The two applications' acceptance benchmarks, timed on this machine:
#  1. house-price: seeded 80/20 split of California housing, `train` with defaults (wall time),
#     `evaluate` on the held-out 20 % (RMSE in dollars; target: at most 50,000 in at most 10 s).
#  2. digits: `train` with defaults on MNIST (wall time and test accuracy; target: 99.0 % in at
#     most 15 s; Benchmarks/time-to-99.sh repeats it over seeds), and the shipped model's
#     `evaluate` on the MNIST test set (target: 99.4 %).
# Usage: Benchmarks/apps.sh [--seed N]   (needs data/fetch first)
set -euo pipefail
cd "$(dirname "$0")/.."
seed=42
[ "${1:-}" = "--seed" ] && seed="$2"
swift build -c release --product house-price >&2
swift build -c release --product digits >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== house-price: California, 80/20 split (seed $seed), default recipe"
.build/release/house-price split data/california-housing/housing.csv --seed "$seed" \
    --train-output "$work/train.csv" --test-output "$work/test.csv"
start=$(date +%s.%N)
.build/release/house-price train "$work/train.csv" --target median_house_value --output "$work/house.safetensors" 2>/dev/null
end=$(date +%s.%N)
printf "train wall time: %.1f s\n" "$(echo "$end - $start" | bc)"
echo "test: $(.build/release/house-price evaluate "$work/test.csv" --model "$work/house.safetensors")"

echo "== digits: default training on MNIST"
start=$(date +%s.%N)
.build/release/digits train --output "$work/digits.safetensors" 2>/dev/null
end=$(date +%s.%N)
printf "train wall time (data loading included): %.1f s\n" "$(echo "$end - $start" | bc)"
echo "== digits: shipped model on the MNIST test set"
.build/release/digits evaluate | head -1
