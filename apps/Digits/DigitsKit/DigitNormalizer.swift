import PNGCodec

/// Turns a picture of a digit, as people make them, into an MNIST-style 28×28 image: light ink
/// on black, the digit scaled to fit a 20×20 box (keeping its aspect ratio, with anti-aliasing),
/// then placed so that its centre of mass is the centre of the 28×28 field. That is how MNIST
/// itself was made, so a model trained on MNIST sees what it was trained on.
///
/// Steps: (1) polarity: a light border means dark ink on light paper, which is inverted;
/// (2) contrast: the border level becomes 0 and the strongest ink 1; (3) crop to the pixels
/// above `inkThreshold`; (4) fit into 20×20 by area averaging (or bilinear when enlarging);
/// (5) shift by whole pixels so the centre of mass lands on (14, 14).
/// A 28×28 MNIST digit comes through unchanged except for at most a pixel of shift and the
/// resampling of digits whose box is not exactly 20 pixels.
public struct DigitNormalizer: Sendable {
    /// Side of the output field.
    public static let fieldSize = 28
    /// Side of the box the digit is scaled to fit.
    public static let boxSize = 20
    /// Contrast-stretched level above which a pixel counts as ink for the crop.
    public var inkThreshold: Float = 0.2

    public init() {}

    /// The normalised 28×28 image, row-major, 0 = background and 1 = full ink.
    ///
    /// Throws when the image has no ink (one flat colour, or contrast below 5 %): there is no
    /// digit to read, and a model shown an empty field would still name one.
    public func normalize(_ image: GrayImage) throws(DigitsError) -> [Float] {
        let field = DigitNormalizer.fieldSize
        var ink = image.width > 0 && image.height > 0 ? inkLevels(image) : []
        // Crop to the ink's bounding box.
        var (minX, minY, maxX, maxY) = (image.width, image.height, -1, -1)
        for y in 0..<image.height {
            for x in 0..<image.width where ink[y * image.width + x] > inkThreshold {
                minX = min(minX, x); maxX = max(maxX, x)
                minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        guard maxX >= 0 else {
            throw .noDigitFound(reason: "the image is blank (no ink against the background)")
        }
        let (boxWidth, boxHeight) = (maxX - minX + 1, maxY - minY + 1)
        let scale = Float(DigitNormalizer.boxSize) / Float(max(boxWidth, boxHeight))
        let (outWidth, outHeight) = (max(1, Int((Float(boxWidth) * scale).rounded())),
                                     max(1, Int((Float(boxHeight) * scale).rounded())))
        let cropped = GrayImage(width: boxWidth, height: boxHeight, pixels: (0..<(boxWidth * boxHeight)).map {
            ink[(minY + $0 / boxWidth) * image.width + minX + $0 % boxWidth]
        })
        ink = []
        let fitted = scale < 1 ? areaResample(cropped, width: outWidth, height: outHeight)
                               : bilinearResample(cropped, width: outWidth, height: outHeight)
        // Centre of mass, in pixel-centre coordinates.
        var (mass, sumX, sumY): (Float, Float, Float) = (0, 0, 0)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                let v = fitted.pixels[y * outWidth + x]
                mass += v
                sumX += v * (Float(x) + 0.5)
                sumY += v * (Float(y) + 0.5)
            }
        }
        let half = Float(field) / 2
        let offsetX = mass > 0 ? Int((half - sumX / mass).rounded()) : (field - outWidth) / 2
        let offsetY = mass > 0 ? Int((half - sumY / mass).rounded()) : (field - outHeight) / 2
        var output = [Float](repeating: 0, count: field * field)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                let (tx, ty) = (x + offsetX, y + offsetY)
                if tx >= 0 && tx < field && ty >= 0 && ty < field {
                    output[ty * field + tx] = fitted.pixels[y * outWidth + x]
                }
            }
        }
        return output
    }

    /// For `--raw`: the image resampled to 28×28 as it is (no inversion, no crop), in [0, 1].
    public func resizeOnly(_ image: GrayImage) -> [Float] {
        let field = DigitNormalizer.fieldSize
        if image.width == field && image.height == field { return image.pixels }
        let larger = image.width > field || image.height > field
        return (larger ? areaResample(image, width: field, height: field)
                       : bilinearResample(image, width: field, height: field)).pixels
    }

    /// Ink in [0, 1]: inverted when the border is light, then stretched so that the border level
    /// maps to 0 and the strongest ink (99th percentile, robust to a stray pixel) to 1.
    func inkLevels(_ image: GrayImage) -> [Float] {
        let (width, height) = (image.width, image.height)
        let ring = max(1, min(width, height) / 20)
        var border: [Float] = []
        for y in 0..<height {
            for x in 0..<width where x < ring || y < ring || x >= width - ring || y >= height - ring {
                border.append(image.pixels[y * width + x])
            }
        }
        border.sort()
        let borderLevel = border[border.count / 2]
        let invert = borderLevel > 0.5
        var ink = invert ? image.pixels.map { 1 - $0 } : image.pixels
        let background = invert ? 1 - borderLevel : borderLevel
        let peak = max(percentile(ink, 0.99), (ink.max() ?? 0) * 0.5)
        let range = peak - background
        guard range > 0.05 else { return [Float](repeating: 0, count: ink.count) }   // no visible ink
        for i in 0..<ink.count { ink[i] = min(1, max(0, (ink[i] - background) / range)) }
        return ink
    }

    /// The `fraction` quantile of values in [0, 1], to 1/4096, from a histogram: one pass and no
    /// copy, where sorting a 40-megapixel photo took seconds.
    func percentile(_ values: [Float], _ fraction: Float) -> Float {
        let bins = 4096
        var counts = [Int](repeating: 0, count: bins)
        for value in values { counts[min(bins - 1, max(0, Int(value * Float(bins))))] += 1 }
        let target = Int(Float(values.count - 1) * fraction)
        var seen = 0
        for (bin, count) in counts.enumerated() {
            seen += count
            if seen > target { return Float(bin) / Float(bins) }
        }
        return 1
    }

    /// Shrinks by averaging each output pixel over the exact source area it covers (fractional
    /// edges weighted), which anti-aliases without blurring more than the scale requires.
    func areaResample(_ image: GrayImage, width: Int, height: Int) -> GrayImage {
        let scaleX = Float(image.width) / Float(width), scaleY = Float(image.height) / Float(height)
        var output = GrayImage(width: width, height: height)
        for oy in 0..<height {
            let (y0, y1) = (Float(oy) * scaleY, Float(oy + 1) * scaleY)
            for ox in 0..<width {
                let (x0, x1) = (Float(ox) * scaleX, Float(ox + 1) * scaleX)
                var sum: Float = 0
                for sy in Int(y0)..<min(image.height, Int(y1.rounded(.up))) {
                    let coverY = min(y1, Float(sy + 1)) - max(y0, Float(sy))
                    for sx in Int(x0)..<min(image.width, Int(x1.rounded(.up))) {
                        let coverX = min(x1, Float(sx + 1)) - max(x0, Float(sx))
                        sum += image.pixels[sy * image.width + sx] * coverX * coverY
                    }
                }
                output.pixels[oy * width + ox] = sum / (scaleX * scaleY)
            }
        }
        return output
    }

    /// Enlarges by bilinear interpolation between source pixel centres.
    func bilinearResample(_ image: GrayImage, width: Int, height: Int) -> GrayImage {
        let scaleX = Float(image.width) / Float(width), scaleY = Float(image.height) / Float(height)
        var output = GrayImage(width: width, height: height)
        for oy in 0..<height {
            let sy = max(0, min(Float(image.height - 1), (Float(oy) + 0.5) * scaleY - 0.5))
            let y0 = Int(sy), y1 = min(image.height - 1, y0 + 1), fy = sy - Float(y0)
            for ox in 0..<width {
                let sx = max(0, min(Float(image.width - 1), (Float(ox) + 0.5) * scaleX - 0.5))
                let x0 = Int(sx), x1 = min(image.width - 1, x0 + 1), fx = sx - Float(x0)
                let top = image[x0, y0] * (1 - fx) + image[x1, y0] * fx
                let bottom = image[x0, y1] * (1 - fx) + image[x1, y1] * fx
                output.pixels[oy * width + ox] = top * (1 - fy) + bottom * fy
            }
        }
        return output
    }
}
