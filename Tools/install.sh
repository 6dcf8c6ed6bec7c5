#!/usr/bin/env bash
# Installs the two tools and their shipped models so that they work from any folder:
#   PREFIX/bin/digits, PREFIX/bin/house-price
#   PREFIX/share/backprop/models/{digits,house-price}.safetensors   (found through the executable's
#                                                                   real path, see DefaultPaths.swift)
# PREFIX defaults to /usr/local when it is writable, else ~/.local.
#
# --static links the Swift runtime into the binaries (built in .build-static, so the ordinary
# release build is left alone), so they run on a machine without the Swift toolchain; they still
# need the system's libpng16, zlib and libdeflate (Debian: libpng16-16, zlib1g, libdeflate0).
#
# --from DIR installs the binaries already built in DIR (e.g. .build/release) without building.
#
# Usage: Tools/install.sh [--prefix DIR] [--static | --from DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
prefix="" static=no from=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --static) static=yes; shift ;;
        --from) from="$2"; shift 2 ;;
        *) echo "usage: $0 [--prefix DIR] [--static | --from DIR]" >&2; exit 2 ;;
    esac
done
if [ -z "$prefix" ]; then
    if [ -w /usr/local ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
fi

if [ -n "$from" ]; then
    binaries="$from"
else
    if [ "$static" = yes ]; then
        build=(swift build -c release --static-swift-stdlib --scratch-path .build-static)
    else
        build=(swift build -c release)
    fi
    for product in digits house-price; do
        "${build[@]}" --product "$product" >&2
    done
    binaries="$("${build[@]}" --show-bin-path)"
fi

mkdir -p "$prefix/bin" "$prefix/share/backprop/models"
for product in digits house-price; do
    # Copy to a temporary name and rename, so that a running copy is never overwritten in place.
    cp "$binaries/$product" "$prefix/bin/.$product.tmp"
    mv "$prefix/bin/.$product.tmp" "$prefix/bin/$product"
done
cp data/models/digits.safetensors data/models/house-price.safetensors "$prefix/share/backprop/models/"

echo "installed digits and house-price in $prefix/bin, their models in $prefix/share/backprop/models"
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "add $prefix/bin to PATH to run them by name: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
