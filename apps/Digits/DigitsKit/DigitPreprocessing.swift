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

    private enum CodingKeys: String, CodingKey { case normalization, fieldSize, boxSize, mean, deviation }

    /// Decodes and checks a model file's preprocessing: only what the normaliser does (MNIST-style
    /// into a 28×28 field with a 20-pixel box), a finite mean and a finite deviation above 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        normalization = try container.decode(String.self, forKey: .normalization)
        fieldSize = try container.decode(Int.self, forKey: .fieldSize)
        boxSize = try container.decode(Int.self, forKey: .boxSize)
        mean = try container.decode(Float.self, forKey: .mean)
        deviation = try container.decode(Float.self, forKey: .deviation)
        func refuse(_ reason: String) -> DecodingError {
            DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: reason))
        }
        guard normalization == "mnist-style" else { throw refuse("normalization \"\(normalization)\" is not \"mnist-style\"") }
        guard fieldSize == DigitNormalizer.fieldSize, boxSize == DigitNormalizer.boxSize else {
            throw refuse("fieldSize \(fieldSize) and boxSize \(boxSize): this version normalises into a "
                         + "\(DigitNormalizer.fieldSize)×\(DigitNormalizer.fieldSize) field with a \(DigitNormalizer.boxSize)-pixel box")
        }
        guard mean.isFinite, deviation.isFinite, deviation > 0 else {
            throw refuse("mean \(mean) and deviation \(deviation): both must be finite, the deviation above 0")
        }
    }

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
