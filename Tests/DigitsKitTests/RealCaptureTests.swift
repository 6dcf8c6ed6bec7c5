import Foundation
import Testing
import DigitsKit
import PNGCodec
import Backprop

/// Each step of the preprocessing for real captures, on images these tests construct: a photo's
/// uneven light, a threshold from the image, specks and ruled lines, stroke width, thin pens in
/// large canvases, tight crops whose border is ink.
@Suite("Preprocessing of real captures")
struct RealCaptureTests {
    /// A canvas of `paper`, with `ink` painted where `isInk(x, y)`.
    private func canvas(_ width: Int, _ height: Int, paper: (Int, Int) -> Float = { _, _ in 1 }, ink: Float = 0,
                        _ isInk: (Int, Int) -> Bool) -> GrayImage {
        var image = GrayImage(width: width, height: height)
        for y in 0..<height { for x in 0..<width { image[x, y] = isInk(x, y) ? ink : paper(x, y) } }
        return image
    }

    /// A ring (a "0") centred at (cx, cy) with radii r and stroke width w.
    private func ring(_ x: Int, _ y: Int, cx: Double, cy: Double, r: Double, w: Double) -> Bool {
        let d = ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)).squareRoot()
        return abs(d - r) <= w / 2
    }

    private func shading(_ pixels: [Float]) -> String {
        (0..<28).map { y in (0..<28).map { x in [" ", "░", "▒", "▓", "█"][min(4, Int(pixels[y * 28 + x] * 4))] }.joined() }
            .joined(separator: "\n")
    }

    private func inkWidth(_ pixels: [Float], width: Int, height: Int) -> Float {
        InkSegmentation.strokeWidth(pixels.map { $0 > 0.5 }, width: width, height: height)
    }

    @Test("Otsu's threshold falls between the two modes of a bimodal image")
    func otsu() {
        var random = SystemRandomNumberGenerator()
        let values = (0..<2000).map { i -> Float in
            (i < 1500 ? 0.2 : 0.7) + Float.random(in: -0.05...0.05, using: &random)
        }
        let threshold = InkSegmentation.otsuThreshold(values)
        #expect(threshold > 0.25 && threshold < 0.65, "\(threshold)")
        // A flat image has no second class: nothing is above the threshold.
        #expect(InkSegmentation.otsuThreshold([Float](repeating: 0.4, count: 100)) == 1)
        // With an empty gap between the classes, the threshold is its middle.
        let gap = InkSegmentation.otsuThreshold([Float](repeating: 0.1, count: 50) + [Float](repeating: 0.9, count: 50))
        #expect(abs(gap - 0.5) < 0.01, "\(gap)")
    }

    @Test("Otsu's histogram counts what a bin-by-bin count gives: runs of one bin around 16 long, bin edges, clamps, NaN")
    func levelCounts() {
        func naive(_ values: [Float]) -> [Int] {
            var counts = [Int](repeating: 0, count: 256)
            for value in values {
                let scaled = Double(value) * 256
                counts[scaled.isNaN || scaled < 1 ? 0 : (scaled >= 255 ? 255 : Int(scaled))] += 1
            }
            return counts
        }
        var random = RandomGenerator(seed: 21)
        let specials: [Float] = [0, -0.0, -3, 1, 2, .nan, .infinity, -.infinity, 1.0 / 256, 255.0 / 256,
                                 Float(100) / 256, Float(100) / 256 - Float.ulpOfOne, 0.999_999]
        for count in [0, 1, 15, 16, 17, 31, 32, 33, 100, 1000] {
            for kind in 0..<4 {
                let values: [Float] = (0..<count).map { index in
                    switch kind {
                    case 0: random.uniform(0, 1)
                    case 1: index % 19 < 17 ? 0.5 : random.uniform(0, 1)                  // runs of one bin, broken
                    case 2: Float(100 + (index / 15) % 2) / 256                             // runs across a bin edge
                    default: specials[random.index(below: specials.count)]
                    }
                }
                #expect(InkSegmentation.levelCounts(values) == naive(values), "count \(count), kind \(kind)")
            }
        }
    }

    @Test("The median is what sorting gives, whether or not one level fills more than half of the values")
    func median() {
        var random = RandomGenerator(seed: 22)
        for count in [1, 2, 3, 8, 9, 64, 101, 1000] {
            // The share of one repeated level: none, just under, exactly and just over half, most.
            for repeated in Set([0, count / 2 - 1, count / 2, count / 2 + 1, count * 9 / 10].filter { $0 >= 0 }) {
                for level: Float in [0, 0.5, 1] {
                    var values = (0..<count).map { $0 < repeated ? level : random.uniform(0, 1) }
                    for index in values.indices.reversed() { values.swapAt(index, random.index(below: index + 1)) }
                    let expected = values.sorted()[count / 2]
                    var copy = values
                    #expect(GrayImage.median(&copy) == expected, "count \(count), \(repeated) of level \(level)")
                }
            }
        }
    }

    @Test("A lighting gradient and grey paper are flattened away; the stroke stays")
    func backgroundFlattening() {
        // Bright ink (already inverted) on paper whose level rises from 0.1 to 0.6 across the image.
        let image = canvas(300, 200, paper: { x, _ in 0.1 + 0.5 * Float(x) / 299 }, ink: 0.95) { x, y in
            self.ring(x, y, cx: 150, cy: 100, r: 60, w: 6)
        }
        let flat = image.subtractingBackground()
        var paperMax: Float = 0, inkMin: Float = 1
        for y in 0..<200 {
            for x in 0..<300 {
                if ring(x, y, cx: 150, cy: 100, r: 60, w: 6) { inkMin = min(inkMin, flat[x, y]) }
                else if !ring(x, y, cx: 150, cy: 100, r: 60, w: 14) { paperMax = max(paperMax, flat[x, y]) }
            }
        }
        // What is left of the paper is at most the gradient across about one grid cell (0.5 / 8).
        #expect(paperMax < 0.12, "paper left at \(paperMax)")
        #expect(inkMin > 0.3, "ink down to \(inkMin)")
    }

    @Test("Components from runs equal a pixel-by-pixel flood fill's: labels, order, areas and boxes",
          arguments: [(1, 1), (1, 40), (40, 1), (7, 5), (8, 8), (17, 9), (33, 31), (100, 64)])
    func componentsMatchFloodFill(width: Int, height: Int) {
        /// The naive twin: 8-connected flood fill from each unlabelled pixel of ink in row order.
        func floodFill(_ mask: [Bool]) -> ([Int32], [InkSegmentation.Component]) {
            var labels = [Int32](repeating: -1, count: mask.count)
            var components: [InkSegmentation.Component] = []
            for start in mask.indices where mask[start] && labels[start] < 0 {
                var component = InkSegmentation.Component()
                labels[start] = Int32(components.count)
                var stack = [start]
                while let index = stack.popLast() {
                    let (x, y) = (index % width, index / width)
                    component.add(y: y, from: x, to: x + 1)
                    for ny in max(0, y - 1)...min(height - 1, y + 1) {
                        for nx in max(0, x - 1)...min(width - 1, x + 1) where mask[ny * width + nx] && labels[ny * width + nx] < 0 {
                            labels[ny * width + nx] = Int32(components.count)
                            stack.append(ny * width + nx)
                        }
                    }
                }
                components.append(component)
            }
            return (labels, components)
        }
        var random = RandomGenerator(seed: UInt64(width * 1000 + height))
        // Sparse specks, a middle density where pieces join along diagonals, dense ink, nothing at
        // all; and stripes: two rows of every three 97 % ink (long runs, eight-byte steps, a few
        // gaps), or none when the density is 0.
        for density: Float in [0.05, 0.35, 0.6, 0.9, 0] {
            for stripes in [false, true] {
                let mask = (0..<(width * height)).map { index in
                    let draw = random.uniform(0, 1)
                    return stripes ? density > 0 && (index / width) % 3 != 0 && draw < 0.97 : draw < density
                }
                let (labels, components) = InkSegmentation.components(mask, width: width, height: height)
                let (expectedLabels, expectedComponents) = floodFill(mask)
                #expect(labels == expectedLabels, "\(width)×\(height), density \(density), stripes \(stripes)")
                #expect(components == expectedComponents, "\(width)×\(height), density \(density), stripes \(stripes)")
            }
        }
    }

    @Test("Components: specks, grain and a ruled line along the page are dropped; a detached bar is kept")
    func componentSelection() throws {
        // A "5"-like digit: a ring plus a detached bar above it, a ruled line across the top edge of
        // the page, and specks.
        let image = canvas(400, 300) { x, y in
            self.ring(x, y, cx: 200, cy: 180, r: 50, w: 8)
                || (y >= 100 && y < 108 && x >= 170 && x < 260)          // the bar, 18 px above the ring
                || (y < 3)                                               // a ruled line along the top edge
                || (x >= 20 && x < 24 && y >= 250 && y < 254)            // a speck far away
                || (x >= 350 && x < 352 && y >= 40 && y < 42)            // another speck
        }
        let normalized = try DigitNormalizer().analyze(image)
        // The kept ink spans the bar and the ring only: the bar, ring and their gap are 138 px tall,
        // 100 wide, so the 20-px box is filled in height.
        let rows = (0..<28).filter { y in (0..<28).contains { normalized.pixels[y * 28 + $0] > 0.2 } }
        let columns = (0..<28).filter { x in (0..<28).contains { normalized.pixels[$0 * 28 + x] > 0.2 } }
        #expect(rows.count >= 19 && rows.count <= 20, "\(rows.count) rows of ink")
        #expect(columns.count >= 16 && columns.count <= 18, "\(columns.count) columns of ink")
        #expect(normalized.largeComponents == 1)
        #expect(!normalized.touchesEveryEdge)

        let mask = image.pixels.map { $0 < 0.5 }
        let (_, components) = InkSegmentation.components(mask, width: 400, height: 300)
        #expect(components.count == 5)
        let kept = InkSegmentation.digitComponents(components, width: 400, height: 300, dropLines: true)
        #expect(Set(kept.map { components[$0].area }) == Set(components.filter { $0.area > 500 && $0.width < 399 }.map(\.area)))
    }

    @Test("Stroke width is estimated to within a fraction of a pixel for lines of width 1 to 6")
    func strokeWidth() {
        for width in 1...6 {
            let mask = (0..<(120 * 60)).map { i -> Bool in
                let (x, y) = (i % 120, i / 120)
                return x >= 10 && x < 110 && y >= 20 && y < 20 + width
            }
            let estimate = InkSegmentation.strokeWidth(mask, width: 120, height: 60)
            #expect(abs(estimate - Float(width)) < 0.35, "width \(width): \(estimate)")
        }
    }

    @Test("Stroke width from counted transitions equals counting each ink pixel's paper neighbours",
          arguments: [(1, 1), (1, 9), (9, 1), (2, 2), (7, 5), (16, 3), (33, 31)])
    func strokeWidthMatchesNeighbourCount(width: Int, height: Int) {
        /// The naive twin: for each ink pixel, each of its four sides that meets paper or the edge.
        func naive(_ mask: [Bool]) -> Float {
            var (area, edges) = (0, 0)
            for y in 0..<height {
                for x in 0..<width where mask[y * width + x] {
                    area += 1
                    if x == 0 || !mask[y * width + x - 1] { edges += 1 }
                    if x == width - 1 || !mask[y * width + x + 1] { edges += 1 }
                    if y == 0 || !mask[(y - 1) * width + x] { edges += 1 }
                    if y == height - 1 || !mask[(y + 1) * width + x] { edges += 1 }
                }
            }
            return edges > 0 ? 2 * Float(area) / Float(edges) : 0
        }
        var random = RandomGenerator(seed: UInt64(width * 100 + height))
        for density: Float in [0, 0.1, 0.5, 0.9, 1] {
            let mask = (0..<(width * height)).map { _ in random.uniform(0, 1) < density }
            #expect(InkSegmentation.strokeWidth(mask, width: width, height: height) == naive(mask),
                    "\(width)×\(height), density \(density)")
        }
        #expect(InkSegmentation.strokeWidth([], width: 0, height: 0) == 0)
    }

    @Test("A 2-px pen in a 400-px canvas is thickened to about MNIST's stroke width, not a hairline")
    func thinStrokesThickened() throws {
        let thin = canvas(400, 400) { x, y in self.ring(x, y, cx: 200, cy: 200, r: 150, w: 2) }
        let thick = canvas(400, 400) { x, y in self.ring(x, y, cx: 200, cy: 200, r: 150, w: 40) }
        let thinOutput = try DigitNormalizer().normalize(thin)
        let width = inkWidth(thinOutput, width: 28, height: 28)
        #expect(width >= 1.4 && width <= 3, "stroke \(width) px in the 28×28 field\n\(shading(thinOutput))")
        #expect(thinOutput.max()! > 0.9)
        // A stroke already as wide as MNIST's is left alone (40 px of 300 is 2.7 px of 20).
        let thickWidth = inkWidth(try DigitNormalizer().normalize(thick), width: 28, height: 28)
        #expect(thickWidth > 1.6 && thickWidth < 4, "\(thickWidth)")
    }

    @Test("A tight crop whose border is mostly ink keeps the ink as ink (a 16×16 scan of a fat 0)")
    func tightCropPolarity() throws {
        // A 0 drawn as a 2-px frame with cut corners, filling a 16×16 white image: ink covers
        // most of the border, though not most of the image.
        let image = canvas(16, 16) { x, y in
            let frame = x < 2 || x > 13 || y < 2 || y > 13
            let corner = (x < 2 || x > 13) && (y < 2 || y > 13)
            return frame && !corner
        }
        let border = (0..<16).flatMap { [image[$0, 0], image[$0, 15], image[0, $0], image[15, $0]] }
        #expect(border.filter { $0 < 0.5 }.count * 2 > border.count)   // the border really is mostly ink
        #expect(DigitNormalizer().inkIsDark(image))
        let output = try DigitNormalizer().normalize(image)
        #expect(output[14 * 28 + 14] < 0.2, "the 0's hole must stay background")
        #expect(output.max()! > 0.9)
    }

    @Test("A photo-like capture (grey paper, shadow, grain, thin pen) gives the same digit as the clean drawing")
    func photoLikeCapture() throws {
        var random = SystemRandomNumberGenerator()
        let clean = canvas(500, 400) { x, y in self.ring(x, y, cx: 250, cy: 200, r: 80, w: 7) }
        let photo = canvas(500, 400, paper: { x, y in
            // grey paper, darker towards one corner (a shadow), with grain
            0.75 - 0.35 * Float(x + y) / 900 + Float.random(in: -0.04...0.04, using: &random)
        }, ink: 0.1) { x, y in self.ring(x, y, cx: 250, cy: 200, r: 80, w: 7) }
        let a = try DigitNormalizer().normalize(clean), b = try DigitNormalizer().normalize(photo)
        let difference = zip(a, b).map { abs($0 - $1) }.reduce(0, +) / Float(a.count)
        #expect(difference < 0.05, "mean absolute difference \(difference)")
    }

    @Test("Two digits side by side are reported as several large marks")
    func twoDigits() throws {
        let image = canvas(400, 200) { x, y in
            self.ring(x, y, cx: 100, cy: 100, r: 60, w: 8) || self.ring(x, y, cx: 300, cy: 100, r: 60, w: 8)
        }
        #expect(try DigitNormalizer().analyze(image).largeComponents == 2)
    }

    @Test("A digit stretched to fill its picture is also read at narrower widths; one with a margin is not")
    func stretchedScanAlternatives() throws {
        // A 16×16 scan of a 0 stretched to the full square, as size-normalised scans are.
        let stretched = canvas(16, 16) { x, y in
            let (dx, dy) = (Double(x) - 7.5, Double(y) - 7.5)
            let d = (dx * dx + dy * dy).squareRoot()
            return d >= 5.5 && d <= 8
        }
        let digit = try DigitNormalizer().analyze(stretched)
        #expect(digit.touchesEveryEdge)
        #expect(digit.alternatives.count == DigitNormalizer.alternativeWidths.count)
        func inkColumns(_ pixels: [Float]) -> Int { (0..<28).filter { x in (0..<28).contains { pixels[$0 * 28 + x] > 0.1 } }.count }
        func inkRows(_ pixels: [Float]) -> Int { (0..<28).filter { y in (0..<28).contains { pixels[y * 28 + $0] > 0.1 } }.count }
        let widths = [digit.pixels].map(inkColumns) + digit.alternatives.map(inkColumns)
        #expect(widths == widths.sorted(by: >) && Set(widths).count == widths.count, "\(widths)")   // narrower each time
        #expect(digit.alternatives.allSatisfy { inkRows($0) == inkRows(digit.pixels) })             // same height
        #expect(abs(Float(widths.last!) / Float(widths.first!) - DigitNormalizer.alternativeWidths.last!) < 0.15)

        let withMargin = canvas(40, 40) { x, y in self.ring(x, y, cx: 20, cy: 20, r: 12, w: 3) }
        let framed = try DigitNormalizer().analyze(withMargin)
        #expect(!framed.touchesEveryEdge && framed.alternatives.isEmpty)
    }

    @Test("Quickselect gives what sorting gives, at every rank, with duplicates and sorted inputs")
    func quickselect() {
        var random = SystemRandomNumberGenerator()
        for count in [1, 2, 3, 7, 64, 101, 1000] {
            for kind in 0..<4 {
                let values: [Float] = (0..<count).map { index in
                    switch kind {
                    case 0: Float.random(in: 0...1, using: &random)
                    case 1: Float(Int.random(in: 0...3, using: &random)) / 3     // many duplicates
                    case 2: Float(index) / Float(count)                          // sorted
                    default: Float(count - index)                                // reversed
                    }
                }
                let sorted = values.sorted()
                for rank in Set([0, count / 2, count - 1, count / 3]) {
                    var copy = values
                    #expect(GrayImage.select(&copy, rank: rank) == sorted[rank], "count \(count), kind \(kind), rank \(rank)")
                }
            }
        }
    }
}
