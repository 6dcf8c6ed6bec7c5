#!/usr/bin/env bash
# Equivalence of MPI training: one process against 2 MPI ranks, same seed, same global batch,
# one full epoch of each app (MNIST; California), compared tensor by tensor.
#   alone:   <tool> train ... --shards 2            (2 threads)
#   ranks:   mpirun -np 2 <tool> train ...          (1 thread each; 2 shards, one per rank)
# Both cut every batch into the same 2 shards and add their gradients in one fixed order, so the
# expected difference is 0. The build is the ordinary one: Open MPI is loaded at run time.
# Needs: openmpi-bin (mpirun) and libopenmpi3, python3 with numpy and safetensors, data/fetch.
# Last line: mpi: ranks=2 max_abs_weight_diff=X
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v mpirun >/dev/null || { echo "mpi-check: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }
python3 -c "import numpy, safetensors" 2>/dev/null || { echo "mpi-check: needs python3 with numpy and safetensors (pip install numpy safetensors)" >&2; exit 1; }
[ -f data/mnist/train-images-idx3-ubyte.gz ] && [ -f data/california-housing/housing.csv ] || { echo "mpi-check: run data/fetch first" >&2; exit 1; }
swift build -c release --product digits >&2
swift build -c release --product house-price >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mpi=(mpirun --oversubscribe --allow-run-as-root -np 2)

worst=0
compare() {  # name alone.safetensors ranks.safetensors
    local line diff
    line=$(python3 Benchmarks/compare_weights.py "$2" "$3")
    diff=${line#max_abs_weight_diff=}
    echo "$1: $line"
    worst=$(python3 -c "import sys; print('%g' % max(map(float, sys.argv[1:])))" "$worst" "$diff")
}

digits=(train --data data/mnist --epochs 1 --seed 7)
.build/release/digits "${digits[@]}" --shards 2 --output "$work/digits-alone.safetensors" >&2
"${mpi[@]}" .build/release/digits "${digits[@]}" --threads 1 --output "$work/digits-ranks.safetensors" >&2
compare digits "$work/digits-alone.safetensors" "$work/digits-ranks.safetensors"

house=(train data/california-housing/housing.csv --target median_house_value --epochs 1 --ensemble 2 --seed 7)
.build/release/house-price "${house[@]}" --shards 2 --output "$work/house-alone.safetensors" >&2
"${mpi[@]}" .build/release/house-price "${house[@]}" --threads 1 --output "$work/house-ranks.safetensors" >&2
compare house-price "$work/house-alone.safetensors" "$work/house-ranks.safetensors"

echo "mpi: ranks=2 max_abs_weight_diff=$worst"
