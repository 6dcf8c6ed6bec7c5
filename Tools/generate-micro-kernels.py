#!/usr/bin/env python3
"""Writes Sources/MatrixKernels/MicroKernels.swift: the 12-row and 6-row register-tiled GEMM
micro-kernels. They are written out, one named accumulator per register, because Swift keeps
named SIMD locals in registers but not arrays of them. Run from the repository root."""

# Smaller tiles generated beside a kernel for the last, partial panel of A (row counts that
# leave 1-8 rows over, such as 64 = 5·12 + 4, are common: batch sizes, channel counts).
PARTIAL_HEIGHTS = {12: [4, 8]}

# The depth loop unrolled this many times, per kernel height. The 6-row kernel (AVX2) streams its
# A panels from L2, and with one k step per iteration reached 80 % of the FMA peak on Zen 3 against
# 88 % unrolled by 4 (a standalone kernel benchmark, 12 A panels of depth 256, the variants timed in
# alternation). The 12-row kernel (AVX-512) is left as it was measured, in one step per iteration.
UNROLL = {6: 4}

def step_lines(rows, group, unrolled, indent):
    """One k step: two B vectors, then a broadcast of each row's A value and two multiply-adds.
    In an unrolled loop step `u` reads u groups ahead of pa and pb."""
    pad = " " * indent
    L = []
    for u in range(unrolled):
        if unrolled > 1:
            L.append(f"{pad}do {{")
        inner = pad + ("    " if unrolled > 1 else "")
        b = "pb" if u == 0 else f"(pb + {u} &* bStep)" if u > 1 else "(pb + bStep)"
        L.append(f"{inner}let b0 = {b}.loadUnaligned(as: Vector.self)")
        L.append(f"{inner}let b1 = {b}.loadUnaligned(fromByteOffset: width &* MemoryLayout<Float>.stride, as: Vector.self)")
        for r in range(rows):
            L.append(f"{inner}let a{r} = Vector(repeating: pa[{u * group + r}])")
            L.append(f"{inner}c{r}x0 = Arithmetic.multiplyAdd(c{r}x0, a{r}, b0)")
            L.append(f"{inner}c{r}x1 = Arithmetic.multiplyAdd(c{r}x1, a{r}, b1)")
        if unrolled > 1:
            L.append(f"{pad}}}")
    return L

def multiply_function(rows, group, name, public):
    """The inner loop over `depth` for the first `rows` of each `group`-float A group."""
    unroll = UNROLL.get(group, 1)
    L = []
    L.append("    @inlinable @inline(__always)")
    L.append(f"    {'public ' if public else ''}static func {name}(depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, bStride: Int,")
    L.append(" " * (len(f"    {'public ' if public else ''}static func {name}(")) + "c: UnsafeMutablePointer<Float>, cRowStride: Int, accumulate: Bool) {")
    L.append("        let width = Vector.scalarCount")
    for r in range(rows):
        L.append(f"        var c{r}x0 = Vector(), c{r}x1 = Vector()")
    L.append("        var pa = a")
    L.append("        var pb = UnsafeRawPointer(b)")
    L.append("        let bStep = bStride &* MemoryLayout<Float>.stride")
    if unroll > 1:
        # Each accumulator still sums its k terms in ascending order: the results are those of
        # the loop without unrolling, bit for bit.
        L.append("        var k = 0")
        L.append(f"        while k &+ {unroll} <= depth {{")
        L += step_lines(rows, group, unroll, 12)
        L.append(f"            pa += {unroll * group}")
        L.append(f"            pb += {unroll} &* bStep")
        L.append(f"            k &+= {unroll}")
        L.append("        }")
        L.append("        while k < depth {")
        L += step_lines(rows, group, 1, 12)
        L.append(f"            pa += {group}")
        L.append("            pb += bStep")
        L.append("            k &+= 1")
        L.append("        }")
    else:
        L.append("        for _ in 0..<depth {")
        L += step_lines(rows, group, 1, 12)
        L.append(f"            pa += {group}")
        L.append("            pb += bStep")
        L.append("        }")
    for r in range(rows):
        L.append(f"        store(c{r}x0, c{r}x1, to: c + {r} &* cRowStride, accumulate: accumulate)")
    L.append("    }")
    return L

def kernel(rows, name):
    L = []
    L.append(f"/// A {rows}-row by two-vector register tile: C[{rows}×2V] (+)= A-panel · B-panel.")
    L.append("///")
    L.append(f"/// The A panel holds `depth` groups of {rows} floats (one per row of the tile); the B panel holds")
    L.append("/// `depth` groups of `2 * V.scalarCount` floats (one per column), `bStride` floats apart: packed")
    L.append("/// by `BlockedGEMM`, or a row-major op(B) read in place. Each inner step is two vector loads,")
    L.append(f"/// {rows} broadcasts and {2*rows} multiply-adds on registers; nothing touches C until the end.")
    L.append(f"public enum {name}<Arithmetic: MultiplyAdd>: MicroKernel {{")
    L.append("    public typealias Vector = Arithmetic.Vector")
    L.append(f"    @inlinable public static var rows: Int {{ {rows} }}")
    L.append("")
    L += multiply_function(rows, rows, "multiply", public=True)
    for top in PARTIAL_HEIGHTS.get(rows, []):
        L.append("")
        L.append(f"    /// `multiply` for the first {top} rows of each {rows}-float A group only: a panel's last rows")
        L.append(f"    /// (a 64-row product's last 4) at the cost of {top} rows instead of {rows}.")
        L += multiply_function(top, rows, f"multiplyTop{top}", public=False)
    L.append("")
    L.append("    @inlinable @inline(__always)")
    L.append("    public static func tileHeight(covering height: Int) -> Int {")
    tops = PARTIAL_HEIGHTS.get(rows, [])
    if tops:
        expression = " : ".join(f"height <= {t} ? {t}" for t in tops) + f" : {rows}"
        L.append(f"        {expression}")
    else:
        L.append(f"        {rows}")
    L.append("    }")
    L.append("")
    L.append("    @inlinable @inline(__always)")
    L.append("    public static func multiply(tileHeight: Int, depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,")
    L.append("                                bStride: Int, c: UnsafeMutablePointer<Float>, cRowStride: Int, accumulate: Bool) {")
    L.append("        switch tileHeight {")
    for t in tops:
        L.append(f"        case {t}: multiplyTop{t}(depth: depth, a: a, b: b, bStride: bStride, c: c, cRowStride: cRowStride, accumulate: accumulate)")
    L.append("        default: multiply(depth: depth, a: a, b: b, bStride: bStride, c: c, cRowStride: cRowStride, accumulate: accumulate)")
    L.append("        }")
    L.append("    }")
    L.append("")
    L.append("    @inlinable @inline(__always)")
    L.append("    static func store(_ v0: Vector, _ v1: Vector, to row: UnsafeMutablePointer<Float>, accumulate: Bool) {")
    L.append("        let p = UnsafeMutableRawPointer(row)")
    L.append("        let second = Vector.scalarCount &* MemoryLayout<Float>.stride")
    L.append("        if accumulate {")
    L.append("            p.storeBytes(of: p.loadUnaligned(as: Vector.self) + v0, as: Vector.self)")
    L.append("            p.storeBytes(of: p.loadUnaligned(fromByteOffset: second, as: Vector.self) + v1,")
    L.append("                         toByteOffset: second, as: Vector.self)")
    L.append("        } else {")
    L.append("            p.storeBytes(of: v0, as: Vector.self)")
    L.append("            p.storeBytes(of: v1, toByteOffset: second, as: Vector.self)")
    L.append("        }")
    L.append("    }")
    L.append("}")
    return "\n".join(L) + "\n"

HEADER = """// GENERATED by Tools/generate-micro-kernels.py; edit that script, not this file.
// Register-tiled GEMM micro-kernels, generic over the vector type so that each instantiation module
// (AVX-512, AVX2, portable) compiles them with its own target flags.

"""

if __name__ == "__main__":
    with open("Sources/MatrixKernels/MicroKernels.swift", "w") as f:
        f.write(HEADER + kernel(12, "MicroKernel12x2") + "\n" + kernel(6, "MicroKernel6x2"))
