/// Levels in 0...1 from 8-bit samples, as both decoding paths read gray and alpha: each byte
/// divided by 255 (not multiplied by a reciprocal, which rounds differently), so that the fast
/// path gives libpng's path's levels to the bit.
enum EightBitLevels {
    /// `levels[i] = samples[i · stride] / 255` for i in 0..<count, `stride` 1 (gray) or 2 (gray +
    /// alpha; start at the alpha byte for alpha). Colour goes through `LuminanceConversion`.
    @inline(__always)
    static func convert(_ samples: UnsafePointer<UInt8>, stride: Int, count: Int, into levels: UnsafeMutablePointer<Float>) {
        precondition(stride == 1 || stride == 2, "EightBitLevels: stride \(stride) is not 1 or 2")
        // One loop per stride, so that each has a constant one and vectorises.
        if stride == 1 {
            for i in 0..<count { levels[i] = Float(samples[i]) / 255 }
        } else {
            for i in 0..<count { levels[i] = Float(samples[2 &* i]) / 255 }
        }
    }
}
