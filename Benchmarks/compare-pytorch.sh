#!/usr/bin/env bash
# Runs the same training and inference work in PyTorch (CPU wheel, in a virtual environment this
# script creates) and in Backprop's bench, one after the other on this machine, and prints both
# with the ratios ours / PyTorch. The last line is the summary:
#   ratios: cnn_train_b64=R cnn_train_b128=R lenet_train_b64=R lenet_train_b128=R cnn_infer_b64=R cnn_infer_b1000=R
#           mlp_train_b64=R mlp_infer_b64=R gemm_ratio=R gemm_gflops=G gemm_peak_fraction=F cnn_peak_fraction=F
# Usage: Benchmarks/compare-pytorch.sh [--threads N] [--quick]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
threads=$(nproc)
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads="$2"; shift 2 ;;
        --quick) extra+=(--quick); shift ;;
        *) echo "usage: $0 [--threads N] [--quick]" >&2; exit 2 ;;
    esac
done

source "$root/Benchmarks/pytorch-venv.sh"

swift build -c release --product bench >&2
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# PyTorch's own default thread settings, except the count; OPENBLAS_* do not affect its MKL/oneDNN.
echo "PyTorch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'), $threads threads..." >&2
"$venv/bin/python" Benchmarks/pytorch_bench.py --threads "$threads" "${extra[@]}" > "$out/pytorch.jsonl"
echo "Backprop bench, $threads threads..." >&2
.build/release/bench --json --threads "$threads" "${extra[@]}" > "$out/backprop.jsonl"

"$venv/bin/python" - "$out/pytorch.jsonl" "$out/backprop.jsonl" <<'PY'
import json, sys
def load(path):
    return {r["name"]: r for r in map(json.loads, open(path)) if "median" in r}
torch, ours = load(sys.argv[1]), load(sys.argv[2])
print(f"{'figure':<34}{'PyTorch':>24}{'Backprop':>24}{'ratio':>8}")
for name in [n for n in ours if n in torch]:
    t, o = torch[name], ours[name]
    # Latency: lower is better, so the ratio is PyTorch / ours; elsewhere ours / PyTorch.
    ratio = t["median"] / o["median"] if o["unit"] == "us" else o["median"] / t["median"]
    fmt = lambda r: f"{r['median']:.1f} [{r['min']:.0f}-{r['max']:.0f}]"
    print(f"{name:<34}{fmt(t):>24}{fmt(o):>24}{ratio:>8.2f}  {o['unit']}")
print(f"measured FMA peak (bench): {ours['fma_peak']['median']:.0f} GFLOP/s; fractions of it:")
for name in [n for n in ours if n.endswith("_peak_fraction")]:
    print(f"  {name[:-len('_peak_fraction')]:<40}{100 * ours[name]['median']:>5.0f} %")
keys = ["cnn_train_b64", "cnn_train_b128", "lenet_train_b64", "lenet_train_b128", "cnn_infer_b64", "cnn_infer_b1000",
        "mlp_train_b64", "mlp_infer_b64"]
parts = [f"{k}={ours[k]['median'] / torch[k]['median']:.2f}" for k in keys]
parts.append(f"gemm_ratio={ours['gemm_1024']['median'] / torch['gemm_1024']['median']:.2f}")
parts.append(f"gemm_gflops={ours['gemm_1024']['median']:.0f}")
# Fractions of the FMA peak bench measured (fma_peak): GEMM 1024³, and the CNN's training step at
# batch 64 counted as 3 × its forward multiply-adds.
parts.append(f"gemm_peak_fraction={ours['gemm_1024_peak_fraction']['median']:.2f}")
parts.append(f"cnn_peak_fraction={ours['cnn_train_b64_peak_fraction']['median']:.2f}")
print("ratios: " + " ".join(parts))
PY
