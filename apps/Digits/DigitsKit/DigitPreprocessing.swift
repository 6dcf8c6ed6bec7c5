import Backprop

/// How pixel values become network inputs, stored in the model file so that `classify` and
/// `evaluate` prepare images exactly as training did.
public struct DigitPreprocessing: Codable, Equatable, Sendable {
    /// Always "mnist-style": polarity, crop, fit into `boxSize`, centre of mass in `fieldSize`.
    public var normalization = "mnist-style"
    public var fieldSize = DigitNormalizer.fieldSize
    public var boxSize = DigitNormalizer.boxSize
    /// Inputs are (pixel − mean) / deviation, with pixels in [0, 1] and ink = 1.
    public var mean: Float = 0.1307
    public var deviation: Float = 0.3081

    public init() {}

    /// Standardises 28×28 images in [0, 1] into a `[count, 1, 28, 28]` network input.
    public func inputTensor(_ images: [[Float]]) -> Tensor {
        let size = fieldSize * fieldSize
        var scalars = [Float]()
        scalars.reserveCapacity(images.count * size)
        for image in images {
            precondition(image.count == size, "DigitPreprocessing: expected \(size) pixels, got \(image.count)")
            for value in image { scalars.append((value - mean) / deviation) }
        }
        return Tensor(shape: [images.count, 1, fieldSize, fieldSize], scalars: scalars)
    }

    /// The standardised value of a blank (0) pixel: what augmentation fills uncovered areas with.
    public var backgroundInput: Float { -mean / deviation }
}
