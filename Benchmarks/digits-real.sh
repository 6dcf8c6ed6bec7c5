#!/usr/bin/env bash
# Accuracy of a digit model on the inputs people really have, in one run:
#  1. data/digits-real (real handwriting: photos, canvas drawings, small drawings, Semeion scans),
#     per kind and per source;
#  2. the MNIST test set;
#  3. 1,100 MNIST test digits rendered as users' files (make-digit-images: dark ink on light paper,
#     64-512 px, off-centre, every PNG kind).
# Usage: Benchmarks/digits-real.sh [--model M]   (needs data/fetch first; default: the shipped model)
set -euo pipefail
cd "$(dirname "$0")/.."
model=data/models/digits.safetensors
[ "${1:-}" = "--model" ] && model="$2"
[ -f data/digits-real/labels.csv ] || { echo "digits-real: data/digits-real is missing (run data/fetch)" >&2; exit 1; }
swift build -c release --product digits >&2
swift build -c release --product make-digit-images >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

start=$(date +%s.%N)
.build/release/digits classify --model "$model" --json data/digits-real/images > "$work/real.jsonl" 2>/dev/null || true
end=$(date +%s.%N)
python3 - "$work/real.jsonl" data/digits-real/labels.csv "$(echo "$end - $start" | bc)" <<'PY'
import csv, json, os, sys
results = {}
for line in open(sys.argv[1]):
    record = json.loads(line)
    results[os.path.basename(record["file"])] = record
groups = {}
wrong = []
for row in csv.DictReader(open(sys.argv[2])):
    record = results.get(os.path.basename(row["file"]), {})
    correct = record.get("label") == row["label"]
    for key in ("kind:" + row["kind"], "source:" + row["source"], "all"):
        n, k = groups.get(key, (0, 0))
        groups[key] = (n + 1, k + correct)
    if not correct:
        wrong.append(f'{row["file"]} ({row["kind"]}): {row["label"]} read as {record.get("label", record.get("error"))}')
print(f"digits-real ({sys.argv[3]} s for {sum(1 for _ in open(sys.argv[2])) - 1} images):")
for key in sorted(groups, key=lambda k: (k != "all", not k.startswith("kind"), k)):
    n, k = groups[key]
    print(f"  {key:<62} {100 * k / n:6.2f} %  ({k}/{n})")
print("  misread photos and canvas drawings: " + "; ".join(w for w in wrong if "(photo)" in w or "(canvas)" in w))
PY

echo "MNIST test: $(.build/release/digits evaluate --model "$model" | head -1)"
.build/release/make-digit-images --count 1100 --skip 5000 --seed 99 --output "$work/rendered" >/dev/null
echo "user-style renderings: $(.build/release/digits evaluate --model "$model" --images "$work/rendered" | head -1)"
