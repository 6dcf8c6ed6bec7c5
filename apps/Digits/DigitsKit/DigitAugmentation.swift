import Backprop
import Foundation
import MatrixKernels

/// Random distortions of training digits that imitate the pens, hands and cameras behind real
/// inputs, applied to each batch:
///
/// - geometry: rotation, scale, shear, shift, now and then a stretch of one axis, or of both until
///   the digit fills a square box (as scans size-normalised into a square, like Semeion's, are),
///   then a smooth elastic warp (hand wobble);
/// - pen: strokes thinned or thickened (grayscale erosion or dilation, partly blended);
/// - capture: blur, lower ink contrast, sensor noise, binarisation (thresholded scans) and
///   low resolution (16×16 scans enlarged again).
///
/// Every random number is drawn from the trainer's generator, in order, before the batch is
/// transformed in parallel, so runs are reproducible whatever the thread count. With
/// `captureEffects` off, only the rotation, scale and shift of the classic MNIST recipe are used.
public struct DigitAugmentation: Sendable {
    /// Largest rotation either way, in degrees.
    public var maximumRotation: Float = 10
    /// Largest relative change of size either way.
    public var maximumScaleChange: Float = 0.1
    /// Largest shift either way, in pixels.
    public var maximumShift: Float = 2
    /// Shear, stretch, elastic warp, pen width and capture effects.
    public var captureEffects: Bool
    /// The input value of blank paper, used where the transformed image uncovers the field.
    public var background: Float
    /// Pixels are stored as (ink − mean) / deviation; effects work on ink levels in [0, 1].
    public var mean: Float
    public var deviation: Float

    public init(preprocessing: DigitPreprocessing, captureEffects: Bool) {
        background = preprocessing.backgroundInput
        mean = preprocessing.mean
        deviation = preprocessing.deviation
        self.captureEffects = captureEffects
    }

    /// One image's random choices.
    struct Draw {
        /// Inverse map from output pixel to source position: 2×2 matrix and offset.
        var a: Float, b: Float, c: Float, d: Float, shiftX: Float, shiftY: Float
        /// Elastic displacement at a 4×4 grid of control points (x then y), or empty.
        var warp: [Float] = []
        /// > 0 thickens, < 0 thins, by that fraction of a 3×3 dilation or erosion.
        var pen: Float = 0
        var blur: Float = 0
        var contrast: Float = 1
        var noise: Float = 0
        var noiseSeed: UInt64 = 0
        var binarise = false
        var lowResolution = false
    }

    /// `inkBox`: the width and height of the digit's ink, for the stretch that fills a square box.
    func draw(_ random: inout RandomGenerator, inkBox: (width: Float, height: Float)) -> Draw {
        let angle = random.uniform(-maximumRotation, maximumRotation) * .pi / 180
        var scaleX = 1 + random.uniform(-maximumScaleChange, maximumScaleChange)
        var scaleY = scaleX
        var shear: Float = 0
        let (shiftX, shiftY) = (random.uniform(-maximumShift, maximumShift), random.uniform(-maximumShift, maximumShift))
        var draw = Draw(a: 1, b: 0, c: 0, d: 1, shiftX: shiftX, shiftY: shiftY)
        if captureEffects {
            shear = random.uniform(-0.3, 0.3)
            let stretchKind = random.nextUnitFloat()
            if stretchKind < 0.2 {
                // One axis stretched a little.
                let stretch = random.uniform(0.7, 1.35)
                if random.next() & 1 == 0 { scaleX *= stretch } else { scaleY *= stretch }
            } else if stretchKind < 0.35, inkBox.width > 0, inkBox.height > 0 {
                // Both axes until the digit fills a square (a narrow 1 becomes a wide slanted bar).
                let side = max(inkBox.width, inkBox.height)
                // The long side keeps its size, so the square is as large as the digit was tall.
                scaleX *= min(3.5, side / inkBox.width)
                scaleY *= min(3.5, side / inkBox.height)
            }
            if random.nextUnitFloat() < 0.5 {
                let strength = random.uniform(0.5, 1.8)
                draw.warp = (0..<32).map { _ in random.uniform(-strength, strength) }
            }
            if random.nextUnitFloat() < 0.6 { draw.pen = random.uniform(-1, 1) }
            if random.nextUnitFloat() < 0.25 { draw.blur = random.uniform(0.3, 0.8) }
            if random.nextUnitFloat() < 0.2 { draw.contrast = random.uniform(0.75, 1) }
            if random.nextUnitFloat() < 0.3 {
                draw.noise = random.uniform(0.02, 0.06)
                draw.noiseSeed = random.next()
            }
            draw.binarise = random.nextUnitFloat() < 0.1
            draw.lowResolution = random.nextUnitFloat() < 0.1
        }
        // Output → source: rotate by −angle, undo the shear and scales.
        let (cosine, sine) = (cos(angle), sin(angle))
        draw.a = cosine / scaleX
        draw.b = (-sine + shear * cosine) / scaleX
        draw.c = sine / scaleY
        draw.d = (cosine + shear * sine) / scaleY
        return draw
    }

    /// Transforms the images `rows` (all by default) of `inputs` `[batch, 1, h, w]` in place.
    /// Draws for every image of the batch whatever `rows` is, so that a data-parallel rank that
    /// transforms only its share gives each image the distortion one process would.
    public func apply(to inputs: inout Tensor, random: inout RandomGenerator, threads: Int, rows: Range<Int>? = nil) {
        let (batch, height, width) = (inputs.shape[0], inputs.shape[2], inputs.shape[3])
        let rows = rows ?? 0..<batch
        let source = inputs
        let draws = (0..<batch).map { index in
            draw(&random, inkBox: captureEffects ? inkBox(source, index: index, width: width, height: height) : (0, 0))
        }
        inputs.withUnsafeMutableBufferPointer { out in
            source.withUnsafeBufferPointer { input in
                Parallel.forEach(tasks: rows.count, threads: rows.count >= 16 ? threads : 1) { task in
                    let index = rows.lowerBound + task
                    let image = UnsafeBufferPointer(rebasing: input[(index * height * width)..<((index + 1) * height * width)])
                    var pixels = transform(image, width: width, height: height, draws[index])
                    if captureEffects { applyEffects(&pixels, width: width, height: height, draws[index]) }
                    for i in 0..<pixels.count { out[index * height * width + i] = pixels[i] }
                }
            }
        }
    }

    /// The size of the box around image `index`'s ink (levels above 0.2).
    private func inkBox(_ inputs: Tensor, index: Int, width: Int, height: Int) -> (width: Float, height: Float) {
        var (minX, minY, maxX, maxY) = (width, height, -1, -1)
        let threshold = (0.2 - mean) / deviation
        for y in 0..<height {
            for x in 0..<width where inputs.scalars[index * width * height + y * width + x] > threshold {
                minX = min(minX, x); maxX = max(maxX, x)
                minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        return maxX < 0 ? (0, 0) : (Float(maxX - minX + 1), Float(maxY - minY + 1))
    }

    /// The geometric transform with bilinear sampling, standardised values in and out.
    private func transform(_ image: UnsafeBufferPointer<Float>, width: Int, height: Int, _ draw: Draw) -> [Float] {
        var output = [Float](repeating: background, count: width * height)
        let (centerX, centerY) = (Float(width - 1) / 2, Float(height - 1) / 2)
        for y in 0..<height {
            for x in 0..<width {
                var (dx, dy) = (Float(x) - centerX - draw.shiftX, Float(y) - centerY - draw.shiftY)
                if !draw.warp.isEmpty {
                    // Smooth displacement: the 4×4 control grid interpolated bilinearly.
                    let gx = Float(x) / Float(width - 1) * 3, gy = Float(y) / Float(height - 1) * 3
                    let (x0, y0) = (min(2, Int(gx)), min(2, Int(gy)))
                    let (fx, fy) = (gx - Float(x0), gy - Float(y0))
                    func grid(_ i: Int, _ j: Int, _ axis: Int) -> Float { draw.warp[axis * 16 + j * 4 + i] }
                    for axis in 0..<2 {
                        let value = (grid(x0, y0, axis) * (1 - fx) + grid(x0 + 1, y0, axis) * fx) * (1 - fy)
                            + (grid(x0, y0 + 1, axis) * (1 - fx) + grid(x0 + 1, y0 + 1, axis) * fx) * fy
                        if axis == 0 { dx += value } else { dy += value }
                    }
                }
                let sx = draw.a * dx + draw.b * dy + centerX, sy = draw.c * dx + draw.d * dy + centerY
                let (x0, y0) = (Int(sx.rounded(.down)), Int(sy.rounded(.down)))
                let (fx, fy) = (sx - Float(x0), sy - Float(y0))
                func pixel(_ px: Int, _ py: Int) -> Float {
                    px >= 0 && px < width && py >= 0 && py < height ? image[py * width + px] : background
                }
                let top = pixel(x0, y0) * (1 - fx) + pixel(x0 + 1, y0) * fx
                let bottom = pixel(x0, y0 + 1) * (1 - fx) + pixel(x0 + 1, y0 + 1) * fx
                output[y * width + x] = top * (1 - fy) + bottom * fy
            }
        }
        return output
    }

    /// Pen width, blur, low resolution, binarisation, contrast and noise, on ink levels in [0, 1].
    private func applyEffects(_ pixels: inout [Float], width: Int, height: Int, _ draw: Draw) {
        var ink = pixels.map { min(1, max(0, $0 * deviation + mean)) }
        if draw.pen != 0 {
            // Dilation (max) or erosion (min) over the pixel and its 4 neighbours, blended.
            let grow = draw.pen > 0
            var changed = ink
            for y in 0..<height {
                for x in 0..<width {
                    var value = ink[y * width + x]
                    for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] where nx >= 0 && nx < width && ny >= 0 && ny < height {
                        value = grow ? max(value, ink[ny * width + nx]) : min(value, ink[ny * width + nx])
                    }
                    changed[y * width + x] = value
                }
            }
            let weight = abs(draw.pen)
            for i in ink.indices { ink[i] = ink[i] * (1 - weight) + changed[i] * weight }
        }
        if draw.blur > 0 {
            var blurred = ink
            for y in 0..<height {
                for x in 0..<width {
                    var (sum, count): (Float, Float) = (0, 0)
                    for ny in max(0, y - 1)...min(height - 1, y + 1) {
                        for nx in max(0, x - 1)...min(width - 1, x + 1) {
                            sum += ink[ny * width + nx]
                            count += 1
                        }
                    }
                    blurred[y * width + x] = sum / count
                }
            }
            for i in ink.indices { ink[i] = ink[i] * (1 - draw.blur) + blurred[i] * draw.blur }
        }
        if draw.lowResolution {
            // Down to 16×16 by averaging and back by bilinear interpolation.
            let small = 16
            var reduced = [Float](repeating: 0, count: small * small)
            let scale = Float(width) / Float(small)
            for sy in 0..<small {
                for sx in 0..<small {
                    var sum: Float = 0, count: Float = 0
                    for y in Int(Float(sy) * scale)..<min(height, Int((Float(sy + 1) * scale).rounded(.up))) {
                        for x in Int(Float(sx) * scale)..<min(width, Int((Float(sx + 1) * scale).rounded(.up))) {
                            sum += ink[y * width + x]
                            count += 1
                        }
                    }
                    reduced[sy * small + sx] = sum / max(1, count)
                }
            }
            for y in 0..<height {
                for x in 0..<width {
                    let gx = max(0, min(Float(small - 1), (Float(x) + 0.5) / scale - 0.5))
                    let gy = max(0, min(Float(small - 1), (Float(y) + 0.5) / scale - 0.5))
                    let (x0, y0) = (Int(gx), Int(gy))
                    let (x1, y1) = (min(small - 1, x0 + 1), min(small - 1, y0 + 1))
                    let (fx, fy) = (gx - Float(x0), gy - Float(y0))
                    ink[y * width + x] = (reduced[y0 * small + x0] * (1 - fx) + reduced[y0 * small + x1] * fx) * (1 - fy)
                        + (reduced[y1 * small + x0] * (1 - fx) + reduced[y1 * small + x1] * fx) * fy
                }
            }
        }
        if draw.binarise { ink = ink.map { $0 > 0.4 ? 1 : 0 } }
        if draw.contrast < 1 { ink = ink.map { $0 * draw.contrast } }
        if draw.noise > 0 {
            var random = RandomGenerator(seed: draw.noiseSeed)
            for i in ink.indices { ink[i] = min(1, max(0, ink[i] + draw.noise * random.normal())) }
        }
        pixels = ink.map { ($0 - mean) / deviation }
    }
}
