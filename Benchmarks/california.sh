#!/usr/bin/env bash
# House prices on the fixed California split, side by side with gradient boosting:
#   the split: `house-price split --seed 42` (80/20; the test rows are never used to train or tune);
#   Backprop: `house-price train` with the given options (default: the defaults), then `evaluate`
#             on the test file, over several training seeds (median and range);
#   LightGBM: Benchmarks/lightgbm_reference.py: the default model, and the best of a small tuning
#             search (learning rate, leaves, minimum leaf size) chosen by early stopping and RMSE on
#             a validation split of the training file, as the issue's reference describes;
#   scikit-learn's HistGradientBoostingRegressor with its defaults.
#   --against REVISION: also `house-price train` as built at REVISION (in a temporary worktree),
#             alternating with this checkout's, seed by seed, on the same split and options; both
#             models are evaluated by this checkout's tool.
# Python packages live in a virtual environment this script creates (Benchmarks/.venv-gbm).
# Usage: Benchmarks/california.sh [--seeds "1 2 3"] [--against REVISION] [-- house-price train options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seeds="1 2 3"
against=""
options=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds="$2"; shift 2 ;;
        --against) against="$2"; shift 2 ;;
        --) shift; options=("$@"); break ;;
        *) echo "usage: $0 [--seeds \"1 2 3\"] [--against REVISION] [-- train options]" >&2; exit 2 ;;
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
source "$root/Benchmarks/other-build.sh"
if [ -n "$against" ]; then
    build_other "$against" house-price
fi
.build/release/house-price split data/california-housing/housing.csv --seed 42 \
    --train-output "$work/train.csv" --test-output "$work/test.csv" >&2

# Trains with the tool $1 and seed $2; prints "rmse:seconds" (wall time of training).
train() {
    local start end
    start=$(date +%s.%N)
    "$1" train "$work/train.csv" --target median_house_value --seed "$2" \
        --output "$work/model.safetensors" "${options[@]}" >/dev/null 2>"$work/train-$2.log"
    end=$(date +%s.%N)
    echo "$(.build/release/house-price evaluate "$work/test.csv" --model "$work/model.safetensors" --json 2>/dev/null \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["rmse"])'):$(echo "$end - $start" | bc)"
}
results=() previous=()
for seed in $seeds; do
    if [ -n "$against" ]; then previous+=("$(train "$work/other/.build/release/house-price" "$seed")"); fi
    results+=("$(train .build/release/house-price "$seed")")
done
"$venv/bin/python" Benchmarks/lightgbm_reference.py "$work/train.csv" "$work/test.csv" > "$work/gbm.txt"
python3 - "$work/gbm.txt" "${options[*]:-(defaults)}" "$against" "${previous[*]}" "${results[@]}" <<'PY'
import statistics, sys
gbm = dict(line.rstrip("\n").split("\t") for line in open(sys.argv[1]))
def runs(entries):
    pairs = [tuple(map(float, r.split(":"))) for r in entries]
    return [r for r, _ in pairs], [s for _, s in pairs]
rmse, seconds = runs(sys.argv[5:])
print(f"California, fixed split (house-price split --seed 42), test RMSE in dollars")
def show(name, rmse, seconds):
    print(f"  {name:<58} {statistics.median(rmse):>9,.0f}  [{min(rmse):,.0f}-{max(rmse):,.0f}] over {len(rmse)} seeds, "
          f"train {statistics.median(seconds):.1f} s [{min(seconds):.1f}-{max(seconds):.1f}]")
show("Backprop " + sys.argv[2], rmse, seconds)
if sys.argv[3]:
    before, before_seconds = runs(sys.argv[4].split())
    show(f"Backprop at {sys.argv[3]}, same options", before, before_seconds)
    change = statistics.mean((a - b) / b for a, b in zip(rmse, before))
    print(f"  this checkout against {sys.argv[3]}: training {statistics.median(before_seconds) / statistics.median(seconds):.2f}x "
          f"as fast (medians), RMSE {100 * change:+.2f} % (mean of the seeds' paired changes)")
for name, value in gbm.items():
    print(f"  {name:<58} {float(value):>9,.0f}")
best = float(gbm["LightGBM, tuned (best of the search by validation RMSE)"])
print(f"ratio Backprop / tuned LightGBM: {statistics.median(rmse) / best:.3f}")
PY
