#!/usr/bin/env bash
# A folder of 10,000 PNG digits of mixed sizes, shades and positions (MNIST test digits rendered as
# users' files by make-digit-images), classified by `digits classify FOLDER` and by a Python script
# doing the same with Pillow + numpy + PyTorch (Benchmarks/classify_folder_pytorch.py: the same
# network and weights, the core of the same preprocessing), alternately, each run timed from
# process start to exit. Prints median [min–max] wall seconds of each, their ratio and both
# accuracies.
# Usage: Benchmarks/classify-folder.sh [--count N] [--rounds R]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
count=10000
rounds=3
while [ $# -gt 0 ]; do
    case "$1" in
        --count) count="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) echo "usage: $0 [--count N] [--rounds R]" >&2; exit 2 ;;
    esac
done
[ -f data/mnist/t10k-images-idx3-ubyte.gz ] || { echo "classify-folder: run data/fetch first" >&2; exit 1; }

pytorch_venv_packages="PIL:pillow numpy:numpy safetensors:safetensors"
source "$root/Benchmarks/pytorch-venv.sh"
swift build -c release --product digits --product make-digit-images >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
.build/release/make-digit-images --count "$count" --flat --output "$work/pngs" >&2
model=data/models/digits.safetensors
echo "$(find "$work/pngs" -name '*.png' | wc -l) PNG files, $(du -sh "$work/pngs" | cut -f1), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2

ours=() theirs=()
for round in $(seq "$rounds"); do
    start=$(date +%s.%N)
    .build/release/digits classify "$work/pngs" --model "$model" > "$work/ours.txt" 2>"$work/ours.err"
    ours+=("$(echo "$(date +%s.%N) - $start" | bc)")
    start=$(date +%s.%N)
    "$venv/bin/python" Benchmarks/classify_folder_pytorch.py "$model" "$work/pngs" > "$work/theirs.txt" 2>"$work/theirs.err"
    theirs+=("$(echo "$(date +%s.%N) - $start" | bc)")
    echo "round $round: digits classify ${ours[-1]} s, Pillow + PyTorch ${theirs[-1]} s" >&2
done

python3 - "$work/ours.txt" "$work/theirs.err" "${ours[*]}" "${theirs[*]}" <<'PY'
import os, re, statistics, sys
ours = [float(x) for x in sys.argv[3].split()]
theirs = [float(x) for x in sys.argv[4].split()]
correct = labelled = 0
for line in open(sys.argv[1]):
    # "path: 7 (0.971)" or "path: maybe 7 (0.583)  uncertain: ...": the file, then the digit read.
    match = re.match(r"(\S+\.png):\s+(?:maybe\s+)?(\d)\b", line)
    if not match:
        continue
    parts = os.path.basename(match.group(1)).split("-")
    if len(parts) >= 3 and parts[1].isdigit():
        labelled += 1
        correct += parts[1] == match.group(2)
their_accuracy = open(sys.argv[2]).read().strip().splitlines()[-1]
def show(values):
    return f"{statistics.median(values):6.2f} s [{min(values):.2f}–{max(values):.2f}]"
print(f"digits classify          {show(ours)}  accuracy {100 * correct / max(1, labelled):.2f} % of {labelled}")
print(f"Pillow + numpy + PyTorch {show(theirs)}  {their_accuracy}")
print(f"folder_ratio={statistics.median(theirs) / statistics.median(ours):.2f}")
PY
