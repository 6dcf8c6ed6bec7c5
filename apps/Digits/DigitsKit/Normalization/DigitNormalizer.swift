import PNGCodec

/// Turns a picture of a digit, as people make them (canvas drawings, phone photos of paper, scans),
/// into an MNIST-style 28×28 image: light ink on black, the digit scaled to fit a 20×20 box
/// (keeping its aspect ratio, with anti-aliasing), then placed so that its centre of mass is the
/// centre of the 28×28 field. That is how MNIST itself was made, so a model trained on MNIST sees
/// what it was trained on.
///
/// Steps:
/// 1. large images are first reduced so their long side is at most `workingSize` (speed);
/// 2. polarity: ink is usually the minority of the pixels, differs from the border, and forms
///    thinner marks than the paper; dark ink on light paper is inverted;
/// 3. on images larger than a small drawing, uneven light is flattened (a smooth background
///    estimate is subtracted) and faint grain below half the ink threshold is dropped;
/// 4. contrast: the background becomes 0 and the ink's typical level 1;
/// 5. the ink threshold is chosen from the image (Otsu), the ink's connected pieces are found,
///    and only those that make up the digit are kept: no specks, grain, ruled lines or page edges;
/// 6. a stroke far thinner than MNIST's (a 1-3 px pen in a large canvas) is thickened towards
///    MNIST's width before the reduction, instead of fading into a hairline;
/// 7. the digit is cropped, fitted into 20×20 (area averaging, or bilinear when enlarging) and
///    shifted by whole pixels so its centre of mass lands on (14, 14).
///
/// A 28×28 MNIST digit comes through unchanged except for at most a pixel of shift and the
/// resampling of digits whose box is not exactly 20 pixels.
public struct DigitNormalizer: Sendable {
    /// Side of the output field.
    public static let fieldSize = 28
    /// Side of the box the digit is scaled to fit.
    public static let boxSize = 20
    /// Longest side analysed: larger images are reduced to it first.
    public static let workingSize = 512
    /// Images whose long side is at least this are treated as captures (photos, scans, canvases):
    /// their background is flattened and thin border-hugging lines are dropped. Smaller ones are
    /// small drawings, whose pixels are kept as they are.
    public static let captureSize = 64
    /// Contrast-stretched level above which a pixel counts as ink for the crop.
    public static let cropThreshold: Float = 0.2
    /// MNIST's median stroke width in the 20-pixel box (measured on 5,000 training digits: 1.95 px,
    /// 10th percentile 1.43); strokes thinner than `thinStroke` are thickened to about it.
    static let targetStroke: Float = 1.9
    static let thinStroke: Float = 1.2

    public init() {}

    /// What normalisation made of an image, and what it noticed about it.
    public struct NormalizedDigit: Sendable, Equatable {
        /// The 28×28 image, row-major, 0 = background and 1 = full ink.
        public var pixels: [Float]
        /// Separate pieces of ink at least half the size of the largest, away from it (two
        /// digits side by side give 2).
        public var largeComponents: Int
        /// Whether the kept ink touches all four edges of the picture (a crop too tight, or not a
        /// single digit on a background).
        public var touchesEveryEdge: Bool
        /// Other readings of the same digit, to be classified too and averaged with `pixels`: when
        /// the ink spans the whole picture, as in scans that were stretched to fill a square box,
        /// the digit's true width is unknown, so it is also drawn at `alternativeWidths` of its width.
        public var alternatives: [[Float]] = []
    }

    /// Widths, relative to the picture's, at which a digit that fills its picture is also read:
    /// the 50th, 25th and 10th percentiles of width over height of MNIST's digits (0.8, 0.65, 0.5,
    /// measured on 20,000 training digits; a stretched scan has lost its own).
    public static let alternativeWidths: [Float] = [0.8, 0.65, 0.5]

    /// The normalised 28×28 image, row-major, 0 = background and 1 = full ink.
    ///
    /// Throws when the image has no ink (one flat colour, or contrast below 5 %): there is no
    /// digit to read, and a model shown an empty field would still name one.
    public func normalize(_ image: GrayImage) throws(DigitsError) -> [Float] {
        try analyze(image).pixels
    }

    /// Normalises `image` and reports what it noticed (see `NormalizedDigit`).
    public func analyze(_ image: GrayImage) throws(DigitsError) -> NormalizedDigit {
        let blank = DigitsError.noDigitFound(reason: "the image is blank (no ink against the background)")
        guard image.width > 0 && image.height > 0 else { throw blank }
        let longSide = max(image.width, image.height)
        var working = image
        if longSide > Self.workingSize {
            let scale = Float(Self.workingSize) / Float(longSide)
            working = image.areaResampled(width: max(1, Int((Float(image.width) * scale).rounded())),
                                          height: max(1, Int((Float(image.height) * scale).rounded())))
        }
        let (width, height) = (working.width, working.height)
        let isCapture = longSide >= Self.captureSize
        guard let ink = inkLevels(working, flattenBackground: isCapture) else { throw blank }

        // The digit's pieces of ink, at a threshold the image chooses.
        let threshold = max(Self.cropThreshold, InkSegmentation.otsuThreshold(ink.pixels))
        let mask = InkSegmentation.mask(ink.pixels, above: threshold)
        let (labels, components) = InkSegmentation.components(mask, width: width, height: height)
        let kept = InkSegmentation.digitComponents(components, width: width, height: height, dropLines: isCapture)
        guard let main = kept.first else { throw blank }
        var isKept = [Bool](repeating: false, count: components.count)
        for index in kept { isKept[index] = true }

        // Keep the kept pieces and their anti-aliased fringe (2 px around them); the rest is
        // background. Nothing outside the kept pieces' box grown by the fringe can be kept, and
        // the crop reads nothing else, so the work stays inside that region, often a fraction of the
        // picture (in a profile of classifying a folder, these loops over the whole picture were
        // 16 % of the time).
        let fringe = 2
        var box = components[main]
        for index in kept {
            let c = components[index]
            (box.minX, box.maxX) = (min(box.minX, c.minX), max(box.maxX, c.maxX))
            (box.minY, box.maxY) = (min(box.minY, c.minY), max(box.maxY, c.maxY))
        }
        let (left, top) = (max(0, box.minX - fringe), max(0, box.minY - fringe))
        let regionWidth = min(width - 1, box.maxX + fringe) - left + 1
        let regionHeight = min(height - 1, box.maxY + fringe) - top + 1
        // The loops below work on whole rows through row pointers, so that they vectorise.
        // The kept pieces' pixels within the region.
        let keptMask = [Bool](unsafeUninitializedCapacity: regionWidth * regionHeight) { keptMask, initialized in
            labels.withUnsafeBufferPointer { labels in
                // Looked up at label + 1, background (-1) included, so that no pixel branches.
                let isKeptFromBackground = [false] + isKept
                isKeptFromBackground.withUnsafeBufferPointer { isKept in
                    for y in 0..<regionHeight {
                        let (source, target) = (labels.baseAddress! + (top + y) * width + left, keptMask.baseAddress! + y * regionWidth)
                        for x in 0..<regionWidth { target[x] = isKept[Int(source[x]) + 1] }
                    }
                }
            }
            initialized = regionWidth * regionHeight
        }
        // Which pixels of the region are kept: the kept pieces dilated by `fringe` in both
        // directions, one row at a time (each row with ink spread sideways once, then into the
        // rows within `fringe` of it). The row is spread from a copy with `fringe` empty pixels on
        // either side, so no read needs a bounds test.
        var keep = [UInt8](repeating: 0, count: regionWidth * regionHeight)
        var padded = [UInt8](repeating: 0, count: regionWidth + 2 * fringe)
        var band = [UInt8](repeating: 0, count: regionWidth)
        keptMask.withUnsafeBufferPointer { keptMask in
            keptMask.withMemoryRebound(to: UInt8.self) { kept in   // a Bool is one byte, 0 or 1
                keep.withUnsafeMutableBufferPointer { keep in
                    padded.withUnsafeMutableBufferPointer { padded in
                        band.withUnsafeMutableBufferPointer { band in
                            for y in 0..<regionHeight {
                                let row = kept.baseAddress! + y * regionWidth
                                var hasInk: UInt8 = 0
                                for x in 0..<regionWidth { hasInk |= row[x] }
                                guard hasInk != 0 else { continue }
                                (padded.baseAddress! + fringe).update(from: row, count: regionWidth)
                                for x in 0..<regionWidth {
                                    var spread: UInt8 = 0
                                    for offset in 0...(2 * fringe) { spread |= padded[x + offset] }
                                    band[x] = spread
                                }
                                for ny in max(0, y - fringe)...min(regionHeight - 1, y + fringe) {
                                    let target = keep.baseAddress! + ny * regionWidth
                                    for x in 0..<regionWidth { target[x] |= band[x] }
                                }
                            }
                        }
                    }
                }
            }
        }
        // The crop: the box of the kept pixels above the crop threshold, in picture coordinates.
        var (minX, minY, maxX, maxY) = (width, height, -1, -1)
        keep.withUnsafeBufferPointer { keep in
            ink.pixels.withUnsafeBufferPointer { pixels in
                for y in 0..<regionHeight {
                    let (kept, levels) = (keep.baseAddress! + y * regionWidth, pixels.baseAddress! + (top + y) * width + left)
                    var (first, last) = (Int.max, -1)
                    for x in 0..<regionWidth {
                        let counts = kept[x] != 0 && levels[x] > Self.cropThreshold
                        first = min(first, counts ? x : Int.max)
                        last = max(last, counts ? x : -1)
                    }
                    guard last >= 0 else { continue }
                    minX = min(minX, left + first); maxX = max(maxX, left + last)
                    minY = min(minY, top + y); maxY = max(maxY, top + y)
                }
            }
        }
        guard maxX >= 0 else { throw blank }
        let (boxWidth, boxHeight) = (maxX - minX + 1, maxY - minY + 1)
        var cropped = GrayImage(width: boxWidth, height: boxHeight)
        keep.withUnsafeBufferPointer { keep in
            ink.pixels.withUnsafeBufferPointer { pixels in
                cropped.pixels.withUnsafeMutableBufferPointer { output in
                    for y in 0..<boxHeight {
                        let levels = pixels.baseAddress! + (minY + y) * width + minX
                        let kept = keep.baseAddress! + (minY + y - top) * regionWidth + minX - left
                        let target = output.baseAddress! + y * boxWidth
                        for x in 0..<boxWidth { target[x] = kept[x] != 0 ? levels[x] : 0 }
                    }
                }
            }
        }
        let scale = Float(Self.boxSize) / Float(max(boxWidth, boxHeight))
        let (outWidth, outHeight) = (max(1, Int((Float(boxWidth) * scale).rounded())),
                                     max(1, Int((Float(boxHeight) * scale).rounded())))

        // Strokes far thinner than MNIST's are thickened at 4× the box's resolution, then reduced.
        // The reduction to that resolution keeps each cell's strongest ink, so a stroke thinner than
        // a cell arrives at full strength, one cell wide, rather than as a faint smear. (Measured on
        // the region: every kept pixel is inside it, so its outline is the same.)
        let stroke = InkSegmentation.strokeWidth(keptMask, width: regionWidth, height: regionHeight)
        let fitted: GrayImage
        if stroke * scale < Self.thinStroke {
            let (fineWidth, fineHeight) = (outWidth * 4, outHeight * 4)
            let fine = fineWidth < boxWidth ? cropped.maxResampled(width: fineWidth, height: fineHeight)
                                            : cropped.bilinearResampled(width: fineWidth, height: fineHeight)
            let fineStroke = max(1, stroke * scale * 4)
            // Rounded up: the reduction to the box softens the stroke's edges, and MNIST's widths were
            // measured on ink above 0.5.
            let radius = Int(((Self.targetStroke * 4 - fineStroke) / 2).rounded(.up))
            fitted = fine.dilated(radius: radius).areaResampled(width: outWidth, height: outHeight)
        } else {
            fitted = scale < 1 ? cropped.areaResampled(width: outWidth, height: outHeight)
                               : cropped.bilinearResampled(width: outWidth, height: outHeight)
        }

        let largeComponents = kept.filter { index in
            index == main || (components[index].area * 2 >= components[main].area
                              && !components[index].overlaps(components[main], margin: 0))
        }.count
        let touchesEveryEdge = minX == 0 && minY == 0 && maxX == width - 1 && maxY == height - 1
        var alternatives: [[Float]] = []
        if touchesEveryEdge && fitted.width * 5 >= fitted.height * 4 {
            alternatives = Self.alternativeWidths.map { fraction in
                centred(fitted.areaResampled(width: max(1, Int((Float(fitted.width) * fraction).rounded())), height: fitted.height))
            }
        }
        return NormalizedDigit(pixels: centred(fitted), largeComponents: largeComponents,
                               touchesEveryEdge: touchesEveryEdge, alternatives: alternatives)
    }

    /// `fitted` (at most 20×20) placed in the 28×28 field with its centre of mass, in pixel-centre
    /// coordinates, shifted by whole pixels onto the field's centre.
    private func centred(_ fitted: GrayImage) -> [Float] {
        let field = DigitNormalizer.fieldSize
        var (mass, sumX, sumY): (Float, Float, Float) = (0, 0, 0)
        for y in 0..<fitted.height {
            for x in 0..<fitted.width {
                let v = fitted.pixels[y * fitted.width + x]
                mass += v
                sumX += v * (Float(x) + 0.5)
                sumY += v * (Float(y) + 0.5)
            }
        }
        let half = Float(field) / 2
        let offsetX = mass > 0 ? Int((half - sumX / mass).rounded()) : (field - fitted.width) / 2
        let offsetY = mass > 0 ? Int((half - sumY / mass).rounded()) : (field - fitted.height) / 2
        var output = [Float](repeating: 0, count: field * field)
        for y in 0..<fitted.height {
            for x in 0..<fitted.width {
                let (tx, ty) = (x + offsetX, y + offsetY)
                if tx >= 0 && tx < field && ty >= 0 && ty < field {
                    output[ty * field + tx] = fitted.pixels[y * fitted.width + x]
                }
            }
        }
        return output
    }

    /// For `--raw`: the image resampled to 28×28 as it is (no inversion, no crop), in [0, 1].
    public func resizeOnly(_ image: GrayImage) -> [Float] {
        let field = DigitNormalizer.fieldSize
        return image.resampled(width: field, height: field).pixels
    }

    /// Ink in [0, 1], bright: inverted when the ink is dark, the background flattened (captures)
    /// or taken as the level of the non-ink pixels (small drawings), and stretched so that the background maps to 0
    /// and the ink's typical level (the 90th percentile of the pixels above the Otsu threshold) to
    /// 1. Nil when there is no visible ink (contrast below 5 %).
    package func inkLevels(_ image: GrayImage, flattenBackground: Bool) -> GrayImage? {
        var ink = image
        if inkIsDark(image) {
            ink.pixels = [Float](unsafeUninitializedCapacity: image.pixels.count) { inverted, initialized in
                image.pixels.withUnsafeBufferPointer { pixels in
                    for i in pixels.indices { inverted[i] = 1 - pixels[i] }
                }
                initialized = image.pixels.count
            }
        }
        if flattenBackground { ink = ink.subtractingBackground() }
        let threshold = InkSegmentation.otsuThreshold(ink.pixels)
        // The ink's pixels are counted where they lie, not copied out.
        guard let inkPeak = percentile(ink.pixels, 0.9, threshold: threshold, above: true) else { return nil }
        // The paper's level: 0 once flattened, else the median of the pixels that are not ink
        // (not the border's, which a digit filling a tight crop covers).
        let background = flattenBackground ? 0 : percentile(ink.pixels, 0.5, threshold: threshold, above: false)?.quantile ?? 0
        let peak = max(inkPeak.quantile, inkPeak.maximum * 0.5)
        let range = peak - background
        guard range > 0.05 else { return nil }
        // After flattening, what is left below half the ink threshold is grain, not ink.
        let floor = flattenBackground ? (threshold - background) / range / 2 : 0
        ink.pixels.withUnsafeMutableBufferPointer { pixels in
            for i in pixels.indices {
                let level = min(1, max(0, (pixels[i] - background) / range))
                pixels[i] = level < floor ? 0 : level
            }
        }
        return ink
    }

    /// Whether the ink is darker than the paper. Ink is usually the minority of the pixels (one
    /// side of the Otsu threshold), and the border usually paper; when the two disagree (a digit
    /// that fills a tight crop, a dark page edge), the side whose marks are thinner is the ink:
    /// strokes are narrow, paper is not.
    package func inkIsDark(_ image: GrayImage) -> Bool {
        let borderSaysDark = borderLevel(image) > 0.5
        let threshold = InkSegmentation.otsuThreshold(image.pixels)
        let brightCount = InkSegmentation.count(image.pixels, lanes: { $0 .> threshold }, each: { $0 > threshold })
        let minoritySaysDark = Float(brightCount) / Float(image.pixels.count) > 0.5
        guard borderSaysDark != minoritySaysDark else { return borderSaysDark }
        let brightMask = InkSegmentation.mask(image.pixels, above: threshold)
        let brightWidth = InkSegmentation.strokeWidth(brightMask, width: image.width, height: image.height)
        let darkWidth = InkSegmentation.strokeWidth(brightMask.map { !$0 }, width: image.width, height: image.height)
        return darkWidth < brightWidth
    }

    /// The median of the outer ring (a twentieth of the short side, at least one pixel).
    package func borderLevel(_ image: GrayImage) -> Float {
        let (width, height) = (image.width, image.height)
        let ring = max(1, min(width, height) / 20)
        // Whole rows at the top and bottom, the two side bands between; the median by selection
        // (the same value a sort gives, in linear time: sorting the ring was ~5 % of a folder).
        var border: [Float] = []
        border.reserveCapacity(2 * ring * (width + height))
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<height {
                let row = pixels[(y * width)..<((y + 1) * width)]
                if y < ring || y >= height - ring {
                    border.append(contentsOf: row)
                } else {
                    border.append(contentsOf: row.prefix(min(ring, width)))
                    border.append(contentsOf: row.suffix(max(0, min(ring, width - ring))))
                }
            }
        }
        return GrayImage.median(&border)
    }

    /// The `fraction` quantile, to 1/4096, of those `values` (in [0, 1]) that are above
    /// `threshold` (or, with `above` false, at most `threshold`), and their largest; nil when none
    /// is. From a histogram: one pass and no copy, where sorting a 40-megapixel photo took seconds.
    package func percentile(_ values: [Float], _ fraction: Float, threshold: Float, above: Bool)
        -> (quantile: Float, maximum: Float)? {
        let bins = 4096
        var counts = [Int](repeating: 0, count: bins)
        var (count, maximum) = (0, -Float.infinity)
        counts.withUnsafeMutableBufferPointer { counts in
            values.withUnsafeBufferPointer { values in
                func add(_ value: Float) {
                    guard above ? value > threshold : value <= threshold else { return }
                    counts[InkSegmentation.bin(value, bins: bins)] &+= 1
                    count &+= 1
                    maximum = max(maximum, value)
                }
                // Eight values at a time are skipped when none is included (the paper around the
                // ink: most of a picture, whose branch per pixel was mispredicted at every edge).
                var i = 0
                while i + 8 <= values.count {
                    let chunk = UnsafeRawPointer(values.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
                    if any(above ? chunk .> threshold : chunk .<= threshold) {
                        for value in values[i..<(i + 8)] { add(value) }
                    }
                    i += 8
                }
                for value in values[i...] { add(value) }
            }
        }
        guard count > 0 else { return nil }
        let target = Int(Float(count - 1) * fraction)
        var seen = 0
        for (bin, binCount) in counts.enumerated() {
            seen += binCount
            if seen > target { return (Float(bin) / Float(bins), maximum) }
        }
        return (1, maximum)
    }
}
