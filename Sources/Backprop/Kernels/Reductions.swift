/// Σ values[0..<count], with four SIMD8 accumulators: strict left-to-right float addition cannot
/// be vectorised by the compiler, and the split also makes the sum more accurate.
@inline(__always)
func sum(_ values: UnsafePointer<Float>, count: Int) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    let raw = UnsafeRawPointer(values)
    var i = 0
    while i &+ 32 <= count {
        a0 += raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        a1 += raw.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
        a2 += raw.loadUnaligned(fromByteOffset: (i &+ 16) &* 4, as: SIMD8<Float>.self)
        a3 += raw.loadUnaligned(fromByteOffset: (i &+ 24) &* 4, as: SIMD8<Float>.self)
        i &+= 32
    }
    var total = ((a0 + a1) + (a2 + a3)).sum()
    while i < count {
        total += values[i]
        i &+= 1
    }
    return total
}
