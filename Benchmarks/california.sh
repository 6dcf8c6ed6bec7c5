#!/usr/bin/env bash
# House prices on the fixed California split, side by side with gradient boosting:
#   the split: `house-price split --seed 42` (80/20; the test rows are never used to train or tune);
#   Backprop: `house-price train` with the given options (default: the defaults), then `evaluate`
#             on the test file, over several training seeds (median and range);
#   LightGBM: Benchmarks/lightgbm_reference.py: the default model, and the best of a small tuning
#             search (learning rate, leaves, minimum leaf size) chosen by early stopping and RMSE on
#             a validation split of the training file, as the issue's reference describes;
#   scikit-learn's HistGradientBoostingRegressor with its defaults.
# Python packages live in a virtual environment this script creates (Benchmarks/.venv-gbm).
# Usage: Benchmarks/california.sh [--seeds "1 2 3"] [-- house-price train options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seeds="1 2 3"
options=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds="$2"; shift 2 ;;
        --) shift; options=("$@"); break ;;
        *) echo "usage: $0 [--seeds \"1 2 3\"] [-- train options]" >&2; exit 2 ;;
    esac
done
[ -f data/california-housing/housing.csv ] || { echo "california: run data/fetch first" >&2; exit 1; }

venv="$root/Benchmarks/.venv-gbm"
if ! "$venv/bin/python" -c "import lightgbm, sklearn, pandas" 2>/dev/null; then
    echo "Creating $venv with lightgbm, scikit-learn and pandas..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q lightgbm scikit-learn pandas >&2
fi
swift build -c release --product house-price >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
.build/release/house-price split data/california-housing/housing.csv --seed 42 \
    --train-output "$work/train.csv" --test-output "$work/test.csv" >&2

results=()
for seed in $seeds; do
    start=$(date +%s.%N)
    .build/release/house-price train "$work/train.csv" --target median_house_value --seed "$seed" \
        --output "$work/model-$seed.safetensors" "${options[@]}" >/dev/null 2>"$work/train-$seed.log"
    end=$(date +%s.%N)
    rmse=$(.build/release/house-price evaluate "$work/test.csv" --model "$work/model-$seed.safetensors" --json 2>/dev/null \
           | python3 -c 'import json,sys; print(json.load(sys.stdin)["rmse"])')
    results+=("$rmse:$(echo "$end - $start" | bc)")
done
"$venv/bin/python" Benchmarks/lightgbm_reference.py "$work/train.csv" "$work/test.csv" > "$work/gbm.txt"
python3 - "$work/gbm.txt" "${options[*]:-(defaults)}" "${results[@]}" <<'PY'
import statistics, sys
gbm = dict(line.rstrip("\n").split("\t") for line in open(sys.argv[1]))
ours = [tuple(map(float, r.split(":"))) for r in sys.argv[3:]]
rmse = [r for r, _ in ours]
seconds = [s for _, s in ours]
print(f"California, fixed split (house-price split --seed 42), test RMSE in dollars")
print(f"  {'Backprop ' + sys.argv[2]:<58} {statistics.median(rmse):>9,.0f}  [{min(rmse):,.0f}-{max(rmse):,.0f}] over {len(rmse)} seeds, "
      f"train {statistics.median(seconds):.1f} s")
for name, value in gbm.items():
    print(f"  {name:<58} {float(value):>9,.0f}")
best = float(gbm["LightGBM, tuned (best of the search by validation RMSE)"])
print(f"ratio Backprop / tuned LightGBM: {statistics.median(rmse) / best:.3f}")
PY
