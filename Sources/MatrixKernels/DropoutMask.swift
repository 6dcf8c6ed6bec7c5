// Legend: i an element, j a draw of the generator (four elements each).

/// Dropout's factors and output for a run of elements, drawn from a SplitMix64 stream (the
/// engine's `RandomGenerator`) eight draws at a time in vector lanes:
///
///     draw j = mix(state + (j + 1)·γ),   keep i = bits 16·(i mod 4) ..< 16·(i mod 4) + 16 of draw ⌊i / 4⌋ < keepThreshold
///     factors[i] = keep i ? scale : 0,    output[i] = input[i] · factors[i]
///
/// The draws and bits are the generator's own, so the masks are the same bits on every path as
/// drawing one at a time (draw by draw, with the state's serial updates, it was ~6 % of a
/// house-price epoch).
public enum DropoutMask {
    /// SplitMix64's increment of the state per draw.
    public static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// SplitMix64's output for a state already advanced by `gamma`.
    @inlinable @inline(__always)
    public static func mix(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fills elements `0..<count` as described above from the generator state `state`.
    /// `keepThreshold` is at most 2¹⁶. Always inlined, so that each path's module compiles it for
    /// its own instructions.
    @inlinable @inline(__always)
    public static func run(state: UInt64, keepThreshold: UInt32, scale: Float, input: UnsafePointer<Float>,
                           factors: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        var state = state
        let offsets = SIMD8<UInt64>(1, 2, 3, 4, 5, 6, 7, 8) &* gamma
        let (threshold, scaleBits) = (SIMD16<UInt32>(repeating: keepThreshold), SIMD16<UInt32>(repeating: scale.bitPattern))
        let (source, mask, target) = (UnsafeRawPointer(input), UnsafeMutableRawPointer(factors), UnsafeMutableRawPointer(output))
        var i = 0
        while i + 32 <= count {
            var z = SIMD8(repeating: state) &+ offsets
            state &+= 8 &* gamma
            z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
            z = z ^ (z &>> 31)
            // Little-endian: 32-bit word 2j is draw j's low half, 2j + 1 its high half.
            let words = unsafeBitCast(z, to: SIMD16<UInt32>.self)
            for half in 0..<2 {
                // Draws 4·half ..< 4·half + 4, element by element: each word's low 16 bits, then its high.
                let w = half == 0 ? words.lowHalf : words.highHalf
                let (low, high) = (w & 0xFFFF, w &>> 16)
                let bits = SIMD16<UInt32>(low[0], high[0], low[1], high[1], low[2], high[2], low[3], high[3],
                                          low[4], high[4], low[5], high[5], low[6], high[6], low[7], high[7])
                // bits < threshold (both at most 2¹⁶) exactly when bits − threshold wraps around, setting
                // the top bit, which spread to all 32 selects the scale's bits. Integer arithmetic, as
                // Swift's SIMD comparison masks compile to lane-by-lane code.
                let keep = 0 &- ((bits &- threshold) &>> 31)
                let factor = unsafeBitCast(keep & scaleBits, to: SIMD16<Float>.self)
                let offset = (i + 16 * half) * 4
                mask.storeBytes(of: factor, toByteOffset: offset, as: SIMD16<Float>.self)
                target.storeBytes(of: source.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) * factor,
                                  toByteOffset: offset, as: SIMD16<Float>.self)
            }
            i += 32
        }
        // The last elements, a draw at a time.
        while i < count {
            state &+= gamma
            var bits = mix(state)
            for element in i..<min(count, i + 4) {
                factors[element] = UInt32(bits & 0xFFFF) < keepThreshold ? scale : 0
                output[element] = input[element] * factors[element]
                bits >>= 16
            }
            i += 4
        }
    }
}
