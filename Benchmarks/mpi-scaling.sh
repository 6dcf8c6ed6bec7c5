#!/usr/bin/env bash
# Data-parallel training throughput on this machine, one process against 2 MPI ranks, both apps
# on their real data, and the figures behind README.md's scaling model:
#   1. training throughput (the tools' own per-epoch figure, median [min–max] over rounds):
#        alone, 1 thread | alone, 2 threads | mpirun -np 2, 1 thread per rank
#      digits: MNIST, 1 epoch, batch 128; house-price: California, 20 epochs, batch 256, 1 network
#   2. mpi-bench compute: one rank's compute per step at its share of the batch, for 1 ... 64 ranks
#   3. mpirun -np 2 mpi-bench allreduce: the gradient sum per step for both networks' sizes
# Usage: Benchmarks/mpi-scaling.sh [--rounds 3]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
rounds=3
[ "${1:-}" = "--rounds" ] && rounds="$2"
command -v mpirun >/dev/null || { echo "mpi-scaling: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }
[ -f data/mnist/train-images-idx3-ubyte.gz ] && [ -f data/california-housing/housing.csv ] || { echo "mpi-scaling: run data/fetch first" >&2; exit 1; }
for product in digits house-price mpi-bench; do swift build -c release --product "$product" >&2; done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mpi=(mpirun --oversubscribe --allow-run-as-root -np 2)
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"

# The per-epoch throughput of the last epoch line ("... 4488 img/s").
throughput() { grep -E "^epoch" | tail -1 | awk '{ for (i = 2; i <= NF; i++) if ($i == "img/s" || $i == "rows/s") print $(i - 1) }'; }
summary() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { printf "%.0f [%.0f–%.0f]", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

run() {  # label unit command...
    local label="$1" unit="$2" values=""
    shift 2
    for _ in $(seq "$rounds"); do
        values="$values $("$@" 2>&1 >/dev/null | throughput)"
    done
    echo "$label: $(echo "$values" | summary) $unit"
}

digits=(train --data data/mnist --epochs 1 --output "$work/d.safetensors")
run "digits alone, 1 thread" img/s .build/release/digits "${digits[@]}" --threads 1
run "digits alone, 2 threads" img/s .build/release/digits "${digits[@]}" --threads 2
run "digits 2 ranks × 1 thread" img/s "${mpi[@]}" .build/release/digits "${digits[@]}" --threads 1

house=(train data/california-housing/housing.csv --target median_house_value --epochs 20 --patience 20 --ensemble 1 --output "$work/h.safetensors")
run "house-price alone, 1 thread" rows/s .build/release/house-price "${house[@]}" --threads 1
run "house-price alone, 2 threads" rows/s .build/release/house-price "${house[@]}" --threads 2
run "house-price 2 ranks × 1 thread" rows/s "${mpi[@]}" .build/release/house-price "${house[@]}" --threads 1

.build/release/mpi-bench compute
"${mpi[@]}" .build/release/mpi-bench allreduce
