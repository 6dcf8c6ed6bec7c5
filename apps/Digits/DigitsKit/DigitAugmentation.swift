import Backprop
import Foundation
import MatrixKernels

/// Random small affine distortions of training digits (rotation, scale, shift), the classic way
/// to push a single CNN past ~99.4 % on MNIST. Draws come from the trainer's generator, so runs
/// stay reproducible; the resampling of the batch then runs in parallel.
public struct DigitAugmentation: Sendable {
    /// Largest rotation either way, in degrees.
    public var maximumRotation: Float = 10
    /// Largest relative change of size either way.
    public var maximumScaleChange: Float = 0.1
    /// Largest shift either way, in pixels.
    public var maximumShift: Float = 2
    /// The input value of blank paper, used where the transformed image uncovers the field.
    public var background: Float

    public init(background: Float) { self.background = background }

    /// Transforms every image of `inputs` `[batch, 1, h, w]` in place.
    public func apply(to inputs: inout Tensor, random: inout RandomGenerator, threads: Int) {
        let (batch, height, width) = (inputs.shape[0], inputs.shape[2], inputs.shape[3])
        // Per image: the inverse map from output pixel to source position (2×2 matrix + offset).
        var maps: [(Float, Float, Float, Float, Float, Float)] = []
        for _ in 0..<batch {
            let angle = random.uniform(-maximumRotation, maximumRotation) * .pi / 180
            let scale = 1 + random.uniform(-maximumScaleChange, maximumScaleChange)
            let (shiftX, shiftY) = (random.uniform(-maximumShift, maximumShift), random.uniform(-maximumShift, maximumShift))
            let (c, s) = (cos(angle) / scale, sin(angle) / scale)
            maps.append((c, -s, s, c, shiftX, shiftY))
        }
        let background = self.background
        let source = inputs
        inputs.withUnsafeMutableBufferPointer { out in
            source.withUnsafeBufferPointer { input in
                Parallel.forEach(tasks: batch, threads: batch >= 16 ? threads : 1) { index in
                    let (a, b, c, d, shiftX, shiftY) = maps[index]
                    let image = input.baseAddress! + index * height * width
                    let target = out.baseAddress! + index * height * width
                    let (centerX, centerY) = (Float(width - 1) / 2, Float(height - 1) / 2)
                    for y in 0..<height {
                        for x in 0..<width {
                            let (dx, dy) = (Float(x) - centerX - shiftX, Float(y) - centerY - shiftY)
                            let sx = a * dx + b * dy + centerX, sy = c * dx + d * dy + centerY
                            let (x0, y0) = (Int(sx.rounded(.down)), Int(sy.rounded(.down)))
                            let (fx, fy) = (sx - Float(x0), sy - Float(y0))
                            func pixel(_ px: Int, _ py: Int) -> Float {
                                px >= 0 && px < width && py >= 0 && py < height ? image[py * width + px] : background
                            }
                            let top = pixel(x0, y0) * (1 - fx) + pixel(x0 + 1, y0) * fx
                            let bottom = pixel(x0, y0 + 1) * (1 - fx) + pixel(x0 + 1, y0 + 1) * fx
                            target[y * width + x] = top * (1 - fy) + bottom * fy
                        }
                    }
                }
            }
        }
    }
}
