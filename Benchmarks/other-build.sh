# Sourced by the benchmarks that compare this checkout with another revision (--against): makes
# $work (a temporary folder, removed on exit together with the worktree in it) and defines
# `build_other REVISION PRODUCT`, which checks REVISION out in "$work/other" and builds PRODUCT
# there; its binary is then "$work/other/.build/release/PRODUCT". Needs $root (the repository).
work="$(mktemp -d)"
trap 'git -C "$root" worktree remove --force "$work/other" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

build_other() {
    git -C "$root" worktree add --detach --quiet "$work/other" "$1"
    echo "building $2 at $(git -C "$work/other" log -1 --format='%h %s' | cut -c1-70) ..." >&2
    swift build -c release --product "$2" --package-path "$work/other" >&2
}
