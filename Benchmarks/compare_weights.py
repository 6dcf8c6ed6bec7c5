"""Largest absolute difference between the tensors of two safetensors model files.

Usage: compare_weights.py A.safetensors B.safetensors
Prints "max_abs_weight_diff=X" (X = 0 when every tensor is bit-for-bit equal); exits 1 when the
files do not hold the same tensor names and shapes.
"""
import sys

import numpy as np
from safetensors.numpy import load_file


def main() -> int:
    first, second = load_file(sys.argv[1]), load_file(sys.argv[2])
    if first.keys() != second.keys():
        print(f"different tensors: {sorted(first.keys() ^ second.keys())}", file=sys.stderr)
        return 1
    worst = 0.0
    for name in sorted(first):
        a, b = first[name], second[name]
        if a.shape != b.shape:
            print(f"{name}: shape {a.shape} against {b.shape}", file=sys.stderr)
            return 1
        worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0)))
    print(f"max_abs_weight_diff={worst:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
