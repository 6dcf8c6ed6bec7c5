#!/usr/bin/env bash
# Builds the "Embedding a trained model" DocC example as a separate package that depends on a
# version tag of this repository, then runs it on the shipped models and checks what it prints.
# The example's Package.swift and main.swift are taken from the article itself, so the article
# cannot drift from what works.
# Usage: Tools/consumer-check.sh      (from anywhere; leaves nothing behind)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
article="$repo/Sources/Backprop/Backprop.docc/EmbeddingAModel.md"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A clone of the committed tree, tagged with the package's version (as a user's tag would be).
version="$(sed -n 's/.*public static let current = "\(.*\)"/\1/p' "$repo/Sources/ModelFile/ModelMetadata.swift")"
git clone --quiet "$repo" "$work/backprop"
git -C "$work/backprop" -c user.name=ci -c user.email=ci@localhost tag -f "$version" >/dev/null

# The article's two code blocks: the one opening with the tools version, and main.swift.
mkdir -p "$work/consumer/Sources/EmbedExample"
extract() {  # first line of the block → the block
    awk -v first="$1" '
        /^```swift$/ { inside = 1; started = 0; next }
        /^```$/ { if (started) exit; inside = 0; next }
        inside && !started && $0 == first { started = 1 }
        started { print }' "$article"
}
extract "// swift-tools-version:6.2" \
    | sed "s|https://github.com/your-organisation/backprop.git|$work/backprop|" > "$work/consumer/Package.swift"
extract "// Sources/EmbedExample/main.swift" > "$work/consumer/Sources/EmbedExample/main.swift"
grep -q "from: \"$version\"" "$work/consumer/Package.swift" || {
    echo "consumer-check: the article depends on another version than $version" >&2; exit 1; }

# The code blocks of the overview and of "Building and training", each page as one more program,
# so that the engine's own examples compile and run too.
for page in Backprop BuildingAndTraining; do
    mkdir -p "$work/consumer/Sources/Example$page"
    awk '/^```swift$/ { inside = 1; next } /^```$/ { inside = 0; next } inside' \
        "$repo/Sources/Backprop/Backprop.docc/$page.md" | grep -v '^import Backprop$' | sed '1i import Backprop' \
        > "$work/consumer/Sources/Example$page/main.swift"
    cat >> "$work/consumer/Package.swift" <<SWIFT
package.targets.append(.executableTarget(name: "Example$page", dependencies: [.product(name: "Backprop", package: "backprop")]))
SWIFT
done

cd "$work/consumer"
swift build -c release 2>&1 | grep -E "error|Compiling|Build" | tail -20
examples="$(.build/release/ExampleBackprop; .build/release/ExampleBuildingAndTraining)"
echo "$examples"
echo "$examples" | grep -qF '["Convolution 1→32 3×3 padding 1 + ReLU + max-pool 2×2", "Flatten", "Dense 6272→10"]' \
    || { echo "consumer-check: the overview's plan is not what it prints" >&2; exit 1; }
echo "$examples" | grep -qF 'accuracy: Optional(1.0)' || { echo "consumer-check: XOR was not learned" >&2; exit 1; }
output="$(.build/release/EmbedExample "$repo/data/models/digits.safetensors" \
    "$repo/data/models/house-price.safetensors" "$repo/data/samples/0-7-gray8.png")"
echo "$output"
# The sample is a 7; row 1 of California housing is priced 430,951 by the shipped model.
echo "$output" | grep -q "^digit: 7 " || { echo "consumer-check: wrong digit" >&2; exit 1; }
echo "$output" | grep -q "^threads: 7 7 7 7 7 7 7 7$" || { echo "consumer-check: threads disagree" >&2; exit 1; }
echo "$output" | grep -q "^price: 430951$" || { echo "consumer-check: wrong price" >&2; exit 1; }
echo "consumer-check: a package depending on backprop $version built and ran the DocC example"
