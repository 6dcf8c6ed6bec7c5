import Backprop
import PNGCodec

/// Renders a 28×28 MNIST digit the way people's files look: dark ink on light paper, 64-512
/// pixels, off-centre, in one of many PNG encodings (gray 1-16 bit, RGB, palette, alpha over a
/// transparent background, interlaced). Used to make `data/samples` and the real-world test set.
public struct DigitImageRenderer {
    /// The PNG encodings it produces.
    public enum Style: String, CaseIterable, Sendable {
        case gray8, gray16, gray1, rgb8, rgb16, rgbaTransparent, grayAlphaTransparent, palette4, paletteTransparent,
             interlacedGray8, interlacedRGBA
    }

    public init() {}

    /// A PNG of `digit` (28×28, 0 = background, 1 = ink) drawn `style`, with size and position
    /// drawn from `random`.
    public func render(_ digit: [Float], style: Style, random: inout RandomGenerator) -> [UInt8] {
        precondition(digit.count == 784, "DigitImageRenderer: expected a 28×28 digit")
        let side = 64 + random.index(below: 449)                      // 64...512
        let digitSide = Int(Float(side) * random.uniform(0.35, 0.8))  // the 28×28 field, scaled
        let offsetX = random.index(below: side - digitSide + 1)
        let offsetY = random.index(below: side - digitSide + 1)
        let paper = random.uniform(0.85, 1)                           // off-white paper
        let inkLevel = random.uniform(0, 0.25)                        // dark ink
        // Ink coverage per output pixel: the digit enlarged bilinearly into its square.
        var coverage = [Float](repeating: 0, count: side * side)
        let scale = 28 / Float(digitSide)
        for y in 0..<digitSide {
            let sy = max(0, min(27, (Float(y) + 0.5) * scale - 0.5))
            let y0 = Int(sy), y1 = min(27, y0 + 1), fy = sy - Float(y0)
            for x in 0..<digitSide {
                let sx = max(0, min(27, (Float(x) + 0.5) * scale - 0.5))
                let x0 = Int(sx), x1 = min(27, x0 + 1), fx = sx - Float(x0)
                let top = digit[y0 * 28 + x0] * (1 - fx) + digit[y0 * 28 + x1] * fx
                let bottom = digit[y1 * 28 + x0] * (1 - fx) + digit[y1 * 28 + x1] * fx
                coverage[(y + offsetY) * side + x + offsetX] = top * (1 - fy) + bottom * fy
            }
        }
        let gray = coverage.map { paper + (inkLevel - paper) * $0 }   // paper where no ink
        func quantise(_ value: Float, _ maximum: Int) -> Int { max(0, min(maximum, Int((value * Float(maximum)).rounded()))) }

        switch style {
        case .gray8, .interlacedGray8:
            var encoder = PNGEncoder(width: side, height: side, colorType: .gray, bitDepth: 8)
            encoder.interlaced = style == .interlacedGray8
            return encoder.encode(samples: gray.map { quantise($0, 255) })
        case .gray16:
            return PNGEncoder(width: side, height: side, colorType: .gray, bitDepth: 16)
                .encode(samples: gray.map { quantise($0, 65535) })
        case .gray1:
            return PNGEncoder(width: side, height: side, colorType: .gray, bitDepth: 1)
                .encode(samples: coverage.map { $0 > 0.5 ? 0 : 1 })
        case .rgb8, .rgb16:
            // Blue-black ink on warm paper.
            let maximum = style == .rgb8 ? 255 : 65535
            let samples = gray.flatMap { level -> [Int] in
                [quantise(level, maximum), quantise(level * 0.97, maximum), quantise(min(1, level * 0.9 + 0.1 * (1 - level)), maximum)]
            }
            return PNGEncoder(width: side, height: side, colorType: .rgb, bitDepth: style == .rgb8 ? 8 : 16).encode(samples: samples)
        case .rgbaTransparent, .interlacedRGBA:
            // Black ink whose opacity is the coverage, on a fully transparent canvas.
            var encoder = PNGEncoder(width: side, height: side, colorType: .rgba, bitDepth: 8)
            encoder.interlaced = style == .interlacedRGBA
            return encoder.encode(samples: coverage.flatMap { [20, 20, 30, quantise($0, 255)] })
        case .grayAlphaTransparent:
            return PNGEncoder(width: side, height: side, colorType: .grayAlpha, bitDepth: 16)
                .encode(samples: coverage.flatMap { [0, quantise($0, 65535)] })
        case .palette4:
            var encoder = PNGEncoder(width: side, height: side, colorType: .palette, bitDepth: 4)
            encoder.palette = (0..<16).map { i in let v = UInt8(i * 17); return (v, v, v) }
            return encoder.encode(samples: gray.map { quantise($0, 15) })
        case .paletteTransparent:
            // Entry 0 is fully transparent paper; entries 1-15 are inks of rising opacity.
            var encoder = PNGEncoder(width: side, height: side, colorType: .palette, bitDepth: 8)
            encoder.palette = (0..<16).map { _ in (10, 10, 10) }
            encoder.transparency = (0..<16).map { UInt8($0 * 17) }
            return encoder.encode(samples: coverage.map { quantise($0, 15) })
        }
    }
}
