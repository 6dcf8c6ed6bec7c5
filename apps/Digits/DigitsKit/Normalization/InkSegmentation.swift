/// Telling ink from paper in an ink map (values in [0, 1], ink bright): a threshold chosen from
/// the image itself, the connected pieces of ink, which of them form the digit, and how wide its
/// strokes are.
package enum InkSegmentation {
    /// One 8-connected piece of ink.
    package struct Component: Equatable {
        package var area = 0
        package var minX = Int.max, minY = Int.max, maxX = Int.min, maxY = Int.min

        package init() {}

        package var width: Int { maxX - minX + 1 }
        package var height: Int { maxY - minY + 1 }

        /// Adds the pixels `start..<end` of row `y`.
        package mutating func add(y: Int, from start: Int, to end: Int) {
            area += end - start
            minX = min(minX, start); maxX = max(maxX, end - 1)
            minY = min(minY, y); maxY = max(maxY, y)
        }

        /// Whether the box, grown by `margin` pixels on every side, meets `other`'s box.
        func overlaps(_ other: Component, margin: Int) -> Bool {
            minX - margin <= other.maxX && other.minX <= maxX + margin
                && minY - margin <= other.maxY && other.minY <= maxY + margin
        }

        func touchesBorder(width: Int, height: Int) -> Bool {
            minX == 0 || minY == 0 || maxX == width - 1 || maxY == height - 1
        }
    }

    /// Otsu's threshold: the level that best separates `values` (in [0, 1]) into two classes,
    /// maximising the between-class variance of a 256-bin histogram. When several levels separate
    /// the classes equally well (an empty gap between them), the middle of the gap. Values above
    /// the threshold are the upper class; an image of one level has none (the threshold is 1).
    package static func otsuThreshold(_ values: [Float]) -> Float {
        let bins = levelBins
        let histogram = levelCounts(values).map(Double.init)
        let total = Double(values.count)
        let weightedTotal = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset) * $1.element }
        var (first, last, bestVariance) = (0, 0, -1.0)
        var (lowCount, lowWeighted) = (0.0, 0.0)
        for bin in 0..<(bins - 1) {
            lowCount += histogram[bin]
            lowWeighted += Double(bin) * histogram[bin]
            let highCount = total - lowCount
            guard lowCount > 0, highCount > 0 else { continue }
            let difference = lowWeighted / lowCount - (weightedTotal - lowWeighted) / highCount
            let variance = lowCount * highCount * difference * difference
            if variance > bestVariance * (1 + 1e-12) {
                (first, last, bestVariance) = (bin, bin, variance)
            } else if variance >= bestVariance * (1 - 1e-12) {
                last = bin
            }
        }
        guard bestVariance >= 0 else { return 1 }
        return Float(first + last + 2) / Float(2 * bins)
    }

    /// The bin of `value` among `bins` equal bins of [0, 1], values below the first bin's top (and
    /// NaN, which fails both tests) in bin 0 and values from the last bin's bottom up in the last.
    /// Chosen in Float first, so that the conversion to Int needs no range check.
    @inline(__always)
    package static func bin(_ value: Float, bins: Int) -> Int {
        let scaled = value * Float(bins)
        return scaled >= 1 ? (scaled < Float(bins - 1) ? Int(scaled) : bins - 1) : 0
    }

    /// Bins of `levelCounts`.
    package static let levelBins = 256

    /// How many of `values` fall in each of `levelBins` equal bins of [0, 1]: bin b holds
    /// [b/256, (b+1)/256), except that everything below 1/256 (and NaN) counts in bin 0 and
    /// everything from 255/256 up in bin 255.
    package static func levelCounts(_ values: [Float]) -> [Int] {
        let bins = levelBins
        // Counted in integers through a raw buffer: this pass over every pixel runs three times per
        // image and was a quarter of the normaliser's time with a checked [Double] histogram.
        // Four histograms, pixel i counted in the (i mod 4)th: most pixels of a page fall in one
        // bin, and a single histogram made each increment wait for the one before (measured 1.4×
        // faster).
        var counts = [Int](repeating: 0, count: 4 * bins)
        counts.withUnsafeMutableBufferPointer { counts in
            values.withUnsafeBufferPointer { values in
                func bin(_ value: Float) -> Int { InkSegmentation.bin(value, bins: bins) }
                var i = 0
                while i + 16 <= values.count {
                    // Sixteen pixels of one bin (paper, a canvas, the flattened background: most of
                    // a picture) are counted at once, tested in a vector; others bin by bin.
                    let scaled = UnsafeRawPointer(values.baseAddress! + i).loadUnaligned(as: SIMD16<Float>.self) * Float(bins)
                    let first = bin(values[i])
                    let sameBin = switch first {
                    case 0: all(scaled .< 1)
                    case bins - 1: all(scaled .>= Float(bins - 1))
                    default: all((scaled .>= Float(first)) .& (scaled .< Float(first + 1)))
                    }
                    if sameBin {
                        counts[first] &+= 16
                    } else {
                        // The sixteen bins in vectors, without branches: clamped as `bin` does,
                        // then truncated exactly (rounding to an integer by adding 2²³, one less
                        // where that rounded up), the integer read from the float's 23 fraction
                        // bits (whole numbers below 2²³ plus 2²³ hold exactly that there).
                        let clamped = scaled.replacing(with: 0, where: .!(scaled .>= 1))
                            .replacing(with: Float(bins - 1), where: scaled .>= Float(bins - 1))
                        let rounded = (clamped + 8_388_608) - 8_388_608
                        let whole = rounded.replacing(with: rounded - 1, where: rounded .> clamped)
                        let lanes = unsafeBitCast(whole + 8_388_608, to: SIMD16<UInt32>.self) & 0x7F_FFFF
                        for lane in stride(from: 0, to: 16, by: 4) {
                            counts[Int(lanes[lane])] &+= 1
                            counts[bins + Int(lanes[lane + 1])] &+= 1
                            counts[2 * bins + Int(lanes[lane + 2])] &+= 1
                            counts[3 * bins + Int(lanes[lane + 3])] &+= 1
                        }
                    }
                    i += 16
                }
                while i < values.count {
                    counts[bin(values[i])] &+= 1
                    i += 1
                }
            }
        }
        return (0..<bins).map { counts[$0] + counts[bins + $0] + counts[2 * bins + $0] + counts[3 * bins + $0] }
    }

    /// How many of `values` pass a test given twice: for eight values at once (`lanes`) and for
    /// one (`each`, for the last few). Eight at a time in a vector: a scalar loop compiled to a
    /// branch per value, mispredicted at every edge of the ink.
    @inline(__always)
    package static func count(_ values: [Float], lanes: (SIMD8<Float>) -> SIMDMask<SIMD8<Int32>>,
                              each: (Float) -> Bool) -> Int {
        values.withUnsafeBufferPointer { values in
            var (counts, i) = (SIMD8<Int32>(), 0)
            while i + 8 <= values.count {
                let chunk = UnsafeRawPointer(values.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
                counts &+= SIMD8<Int32>().replacing(with: 1, where: lanes(chunk))
                i += 8
            }
            return Int(counts.wrappedSum()) + values[i...].reduce(0) { $0 + (each($1) ? 1 : 0) }
        }
    }

    /// Which of `values` are above `threshold`.
    package static func mask(_ values: [Float], above threshold: Float) -> [Bool] {
        // Filled in place: `map` appended one Bool at a time, checking capacity for each pixel.
        [Bool](unsafeUninitializedCapacity: values.count) { mask, initialized in
            values.withUnsafeBufferPointer { values in
                for i in values.indices { mask[i] = values[i] > threshold }
            }
            initialized = values.count
        }
    }

    /// Labels the 8-connected components of `mask` (`width × height`). Returns, per pixel, the
    /// component index or -1 for background, and the components, in the order their first pixel
    /// comes in the rows.
    ///
    /// Works on runs (horizontal stretches of ink), not pixels: each row's runs are joined to the
    /// runs of the row above that touch them, diagonals included, in a union-find whose root is
    /// always a set's first run, so numbering the roots in row order numbers the components by
    /// their first pixel. (A flood fill visited eight neighbours of every pixel of ink: ~6 % of
    /// classifying a folder.)
    package static func components(_ mask: [Bool], width: Int, height: Int) -> (labels: [Int32], components: [Component]) {
        precondition(mask.count == width * height, "components: \(mask.count) pixels for \(width)×\(height)")
        // Runs in row order: their row, first pixel and end (exclusive), and union-find parents.
        var (rows, starts, ends, parents): ([Int], [Int], [Int], [Int]) = ([], [], [], [])
        func root(_ run: Int) -> Int {
            var run = run
            while parents[run] != run {
                parents[run] = parents[parents[run]]   // path halving
                run = parents[run]
            }
            return run
        }
        mask.withUnsafeBufferPointer { mask in
            mask.withMemoryRebound(to: UInt8.self) { mask in   // a Bool is one byte, 0 or 1
                var above = 0..<0   // the runs of the row above
                for y in 0..<height {
                    let row = mask.baseAddress! + y * width
                    let firstRun = starts.count
                    var (x, touching) = (0, above.lowerBound)
                    while x < width {
                        // Eight pixels at a time through paper and through ink.
                        if x + 8 <= width && UnsafeRawPointer(row + x).loadUnaligned(as: UInt64.self) == 0 {
                            x += 8
                            continue
                        }
                        guard row[x] != 0 else {
                            x += 1
                            continue
                        }
                        let start = x
                        while x + 8 <= width && UnsafeRawPointer(row + x).loadUnaligned(as: UInt64.self) == 0x0101_0101_0101_0101 { x += 8 }
                        while x < width && row[x] != 0 { x += 1 }
                        let run = starts.count
                        rows.append(y); starts.append(start); ends.append(x); parents.append(run)
                        // The runs above that touch [start, x), diagonals included: those ending at
                        // or after `start` and starting at or before `x`.
                        while touching < above.upperBound && ends[touching] < start { touching += 1 }
                        var other = touching
                        while other < above.upperBound && starts[other] <= x {
                            let (a, b) = (root(other), root(run))
                            if a < b { parents[b] = a } else if b < a { parents[a] = b }
                            other += 1
                        }
                        // The last run that touched may touch the next run of this row too.
                        touching = max(touching, other - 1)
                    }
                    above = firstRun..<starts.count
                }
            }
        }
        // Number the components by their first run, label their pixels and measure them.
        var labels = [Int32](repeating: -1, count: mask.count)
        var components: [Component] = []
        var labelOfRun = [Int32](repeating: -1, count: starts.count)
        labels.withUnsafeMutableBufferPointer { labels in
            for run in starts.indices {
                let first = root(run)
                if first == run {
                    labelOfRun[run] = Int32(components.count)
                    components.append(Component())
                }
                let label = labelOfRun[first]
                labelOfRun[run] = label
                let (y, start, end) = (rows[run], starts[run], ends[run])
                (labels.baseAddress! + y * width + start).update(repeating: label, count: end - start)
                components[Int(label)].add(y: y, from: start, to: end)
            }
        }
        return (labels, components)
    }

    /// Which components make up the digit: the largest one that is not a ruled line or a page edge,
    /// every component at least a quarter of its size, and smaller pieces (down to 2 %) near it,
    /// such as a 5's detached bar or a stroke broken by the threshold. Specks, paper grain and
    /// lines far from the digit are left out.
    ///
    /// - Parameter dropLines: whether thin components that touch the border and run along most of
    ///   it are page edges or ruled lines (photos and scans of paper), rather than a stroke.
    package static func digitComponents(_ components: [Component], width: Int, height: Int,
                                dropLines: Bool) -> [Int] {
        let longSide = max(width, height)
        func isLine(_ c: Component) -> Bool {
            guard dropLines, c.touchesBorder(width: width, height: height) else { return false }
            let long = max(c.width, c.height)
            let spans = c.width >= width * 6 / 10 || c.height >= height * 6 / 10
            return spans && Double(c.area) / Double(long) < 0.03 * Double(longSide)
        }
        let order = components.indices.filter { !isLine(components[$0]) }.sorted { components[$0].area > components[$1].area }
        guard let main = order.first else { return [] }
        var kept = [main]
        var region = components[main]
        let margin = max(2, max(region.width, region.height) / 4)
        for index in order.dropFirst() {
            let c = components[index]
            if c.area * 4 >= components[main].area
                || (c.area * 50 >= components[main].area && c.overlaps(region, margin: margin)) {
                kept.append(index)
                region.minX = min(region.minX, c.minX); region.maxX = max(region.maxX, c.maxX)
                region.minY = min(region.minY, c.minY); region.maxY = max(region.maxY, c.maxY)
            }
        }
        return kept
    }

    /// The mean stroke width of `mask`, in pixels: twice the ink area over the length of its
    /// outline (a stroke of width w and length L has area w·L and an outline of about 2·L).
    package static func strokeWidth(_ mask: [Bool], width: Int, height: Int) -> Float {
        precondition(mask.count == width * height, "strokeWidth: \(mask.count) pixels for \(width)×\(height)")
        guard width > 0 && height > 0 else { return 0 }
        // The outline's length is the number of places where ink meets paper or the picture's
        // edge: changes between neighbours along each row and each column, counting the outside
        // as paper. Counted as sums of bytes (a Bool is one byte, 0 or 1), which vectorise, instead
        // of testing the four neighbours of each ink pixel.
        var (area, edges) = (0, 0)
        mask.withUnsafeBufferPointer { mask in
            mask.withMemoryRebound(to: UInt8.self) { mask in
                for y in 0..<height {
                    let row = mask.baseAddress! + y * width
                    // Within a row in 32 bits (a row has at most 2³² pixels), which vectorises better.
                    var (ink, across) = (UInt32(0), UInt32(row[0]) + UInt32(row[width - 1]))
                    for x in 0..<width { ink &+= UInt32(row[x]) }
                    for x in 1..<max(1, width) { across &+= UInt32(row[x] ^ row[x - 1]) }
                    // Down the columns: against the row above, or the outside for the first row;
                    // the last row also meets the outside below.
                    var down = UInt32(0)
                    if y == 0 {
                        down = ink
                    } else {
                        let above = row - width
                        for x in 0..<width { down &+= UInt32(row[x] ^ above[x]) }
                    }
                    if y == height - 1 { down &+= ink }
                    area &+= Int(ink)
                    edges &+= Int(across) &+ Int(down)
                }
            }
        }
        return edges > 0 ? 2 * Float(area) / Float(edges) : 0
    }
}
