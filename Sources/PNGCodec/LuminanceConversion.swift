#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libpng 1.6's conversion of 8-bit RGB pixels to 8-bit gray, reproduced exactly for
/// `EightBitPNGDecoder`, for files without gAMA, cHRM or iCCP chunks (sRGB changes nothing) read through the
/// simplified API (sRGB in, sRGB out):
///
///     gray = r == g == b ? r : fromLinear[(6968·toLinear[r] + 23434·toLinear[g] + 2366·toLinear[b] + 16384) >> 15]
///
/// where `toLinear` and `fromLinear` are libpng's 8-bit gamma tables for the power laws
/// 2.19998 (its reciprocal of the assumed file gamma 0.45455) and 0.45455, each entry
/// `floor(255 · (i / 255)^γ + 0.5)` with 0 and 255 kept. The weights are libpng's historical
/// defaults (it uses them when the file states no primaries). Levels come out as `gray / 255`.
struct LuminanceConversion: Sendable {
    static let shared = LuminanceConversion()

    /// The weighted linear levels: red at 0..<256, green at 256..<512, blue (with the rounding
    /// half, 16384) at 512..<768; their sum shifted right by 15 is an index into `levels`.
    private let weighted: [Int32]
    /// 0..<256: the gray level of each linear index (`fromLinear[i] / 255`); 256..<512: `i / 255`
    /// for pixels whose three channels are equal.
    private let levels: [Float]

    private init() {
        func gammaTable(_ exponent: Double) -> [Int32] {
            (0..<256).map { value in
                guard value > 0 && value < 255 else { return Int32(value) }
                return Int32((255 * pow(Double(value) / 255, exponent) + 0.5).rounded(.down))
            }
        }
        let toLinear = gammaTable(Double(219_998) * 0.00001)
        let fromLinear = gammaTable(Double(45_455) * 0.00001)
        weighted = toLinear.map { 6968 * $0 } + toLinear.map { 23434 * $0 } + toLinear.map { 2366 * $0 + 16384 }
        levels = fromLinear.map { Float($0) / 255 } + (0..<256).map { Float($0) / 255 }
    }

    /// Converts `pixels` pixels of `channels` (3 RGB, 4 RGBA) bytes each at `row` to gray levels
    /// in [0, 1], and alpha levels when `alpha` is given.
    func convert(_ row: UnsafePointer<UInt8>, pixels: Int, channels: Int,
                 gray: UnsafeMutablePointer<Float>, alpha: UnsafeMutablePointer<Float>?) {
        weighted.withUnsafeBufferPointer { weighted in
            levels.withUnsafeBufferPointer { levels in
                let (weighted, levels) = (weighted.baseAddress!, levels.baseAddress!)
                var source = row
                for x in 0..<pixels {
                    let (r, g, b) = (Int(source[0]), Int(source[1]), Int(source[2]))
                    let index = Int((weighted[r] &+ weighted[256 + g] &+ weighted[512 + b]) >> 15)
                    // Both loads, then a select: photos mix gray and coloured pixels unpredictably.
                    let (mixed, plain) = (levels[index], levels[256 + r])
                    gray[x] = r == g && g == b ? plain : mixed
                    source += channels
                }
                if let alpha {
                    for x in 0..<pixels { alpha[x] = levels[256 + Int(row[x * channels + 3])] }
                }
            }
        }
    }
}
