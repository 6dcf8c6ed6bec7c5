/// The architecture of one layer, without weights: what a model file records so that a loader
/// can rebuild the network before filling in its tensors.
///
/// A spec only describes. ``Network`` turns a list of specs into a compiled plan of ``Step``s
/// (where, for example, a convolution, its ReLU and its max-pool become one step) and holds the
/// weights; per-call memory lives in a caller-owned ``Tape``.
///
/// Encoded as a flat JSON object with a `type` field, e.g.
/// `{"type":"conv2d","inputChannels":1,"outputChannels":32,"kernelSize":3,"stride":1,"padding":0}`.
public enum LayerSpec: Equatable, Sendable, Codable, CustomStringConvertible {
    /// `[inputSize]` → `[outputSize]`; weight `[outputSize, inputSize]`, bias `[outputSize]`.
    case dense(inputSize: Int, outputSize: Int)
    /// `[inputChannels, h, w]` → `[outputChannels, oh, ow]`, oh = ⌊(h + 2·padding − k) / stride⌋ + 1;
    /// weight `[outputChannels, inputChannels, k, k]`, bias `[outputChannels]`.
    case conv2d(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int, padding: Int)
    /// `[c, h, w]` → `[c, ⌊(h − k) / stride⌋ + 1, ⌊(w − k) / stride⌋ + 1]`.
    case maxPool2d(kernelSize: Int, stride: Int)
    /// `[d1, d2, ...]` → `[d1·d2·...]`.
    case flatten
    /// Inverted dropout with drop probability `rate` in [0, 1), during training only.
    case dropout(rate: Float)
    case relu
    case leakyRelu(slope: Float)
    case sigmoid
    case tanh
    /// Batch normalisation of `[features]` (after a dense layer) or `[features, h, w]` (after a
    /// convolution, per channel), as PyTorch's `BatchNorm1d`/`BatchNorm2d`: weight (γ) and bias (β)
    /// `[features]` are trained; buffers `running_mean` and `running_var` `[features]` follow
    /// `running = (1 − momentum)·running + momentum·batch` during training and are used at inference.
    case batchNorm(features: Int, momentum: Float, epsilon: Float)

    /// Batch normalisation with PyTorch's defaults: momentum 0.1, epsilon 1e-5.
    public static func batchNorm(features: Int) -> LayerSpec {
        .batchNorm(features: features, momentum: 0.1, epsilon: 1e-5)
    }

    /// The `type` string in JSON.
    /// Whether this is a BatchNorm layer, whose batch statistics tie a batch's rows together.
    public var isBatchNorm: Bool { if case .batchNorm = self { true } else { false } }

    public var typeName: String {
        switch self {
        case .dense: "dense"
        case .conv2d: "conv2d"
        case .maxPool2d: "maxPool2d"
        case .flatten: "flatten"
        case .dropout: "dropout"
        case .relu: "relu"
        case .leakyRelu: "leakyRelu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .batchNorm: "batchNorm"
        }
    }

    public var description: String {
        switch self {
        case let .dense(i, o): "Dense(\(i) → \(o))"
        case let .conv2d(i, o, k, s, p): "Conv2D(\(i) → \(o), \(k)×\(k), stride \(s), padding \(p))"
        case let .maxPool2d(k, s): "MaxPool2D(\(k)×\(k), stride \(s))"
        case .flatten: "Flatten"
        case let .dropout(rate): "Dropout(\(rate))"
        case .relu: "ReLU"
        case let .leakyRelu(slope): "LeakyReLU(\(slope))"
        case .sigmoid: "Sigmoid"
        case .tanh: "Tanh"
        case let .batchNorm(features, momentum, epsilon): "BatchNorm(\(features), momentum \(momentum), epsilon \(epsilon))"
        }
    }

    /// The names and shapes of the layer's trainable parameters, computed without allocating them
    /// (readers check untrusted files against this before building anything).
    public var parameterShapes: [(name: String, shape: [Int])] {
        switch self {
        case let .dense(inputSize, outputSize):
            [("weight", [outputSize, inputSize]), ("bias", [outputSize])]
        case let .conv2d(inputChannels, outputChannels, kernelSize, _, _):
            [("weight", [outputChannels, inputChannels, kernelSize, kernelSize]), ("bias", [outputChannels])]
        case let .batchNorm(features, _, _):
            [("weight", [features]), ("bias", [features])]
        default:
            []
        }
    }

    /// The names and shapes of the layer's buffers: state that training updates without
    /// gradients (BatchNorm's running statistics), saved with the weights.
    public var bufferShapes: [(name: String, shape: [Int])] {
        switch self {
        case let .batchNorm(features, _, _): [("running_mean", [features]), ("running_var", [features])]
        default: []
        }
    }

    /// Whether the layer passes shapes through and only reshapes, drops or pools values: the
    /// initialiser of a weight layer looks past these to the activation that follows it.
    var isStructural: Bool {
        switch self {
        case .dropout, .flatten, .maxPool2d, .batchNorm: true
        default: false
        }
    }

    /// The per-sample output shape for a per-sample input shape, or an error saying why the input
    /// does not fit this layer (or the layer's own settings are invalid).
    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] {
        try validateSettings()
        switch self {
        case let .dense(inputSize, outputSize):
            guard inputShape == [inputSize] else {
                throw ArchitectureError("dense expects input [\(inputSize)], got \(inputShape)"
                    + (inputShape.count > 1 ? " (add a flatten layer before it)" : ""))
            }
            return [outputSize]
        case let .conv2d(inputChannels, outputChannels, kernelSize, stride, padding):
            guard inputShape.count == 3 else {
                throw ArchitectureError("conv2d expects [channels, height, width], got \(inputShape)")
            }
            guard inputShape[0] == inputChannels else {
                throw ArchitectureError("conv2d expects \(inputChannels) input channels, got \(inputShape[0])")
            }
            let g = ConvolutionGeometry(channels: inputChannels, height: inputShape[1], width: inputShape[2],
                                        kernelSize: kernelSize, stride: stride, padding: padding)
            guard g.outputHeight >= 1, g.outputWidth >= 1 else {
                throw ArchitectureError("conv2d: a \(kernelSize)×\(kernelSize) kernel with padding \(padding) "
                    + "does not fit a \(inputShape[1])×\(inputShape[2]) image")
            }
            return [outputChannels, g.outputHeight, g.outputWidth]
        case let .maxPool2d(kernelSize, stride):
            guard inputShape.count == 3 else {
                throw ArchitectureError("maxPool2d expects [channels, height, width], got \(inputShape)")
            }
            guard inputShape[1] >= kernelSize, inputShape[2] >= kernelSize else {
                throw ArchitectureError("maxPool2d: a \(kernelSize)×\(kernelSize) window does not fit "
                    + "a \(inputShape[1])×\(inputShape[2]) image")
            }
            // Argmax positions are stored as 32-bit plane offsets.
            guard let plane = Shape.product([inputShape[1], inputShape[2]]), plane <= Int(Int32.max) else {
                throw ArchitectureError("maxPool2d: image planes above 2³¹ pixels are not supported")
            }
            return [inputShape[0], (inputShape[1] - kernelSize) / stride + 1, (inputShape[2] - kernelSize) / stride + 1]
        case .flatten:
            guard let count = Shape.product(inputShape) else {
                throw ArchitectureError("flatten: the input shape \(inputShape) has more elements than Int can count")
            }
            return [count]
        case let .batchNorm(features, _, _):
            guard inputShape.count == 1 || inputShape.count == 3 else {
                throw ArchitectureError("batchNorm expects [features] or [channels, height, width], got \(inputShape)")
            }
            guard inputShape[0] == features else {
                throw ArchitectureError("batchNorm has \(features) features, the input has \(inputShape[0])")
            }
            return inputShape
        case .dropout, .relu, .leakyRelu, .sigmoid, .tanh:
            return inputShape
        }
    }

    /// Rejects settings no input could make valid (negative sizes, rates out of range, ...).
    private func validateSettings() throws(ArchitectureError) {
        switch self {
        case let .dense(inputSize, outputSize):
            guard inputSize > 0, outputSize > 0 else {
                throw ArchitectureError("dense: sizes must be positive, got \(inputSize) → \(outputSize)")
            }
        case let .conv2d(inputChannels, outputChannels, kernelSize, stride, padding):
            guard inputChannels > 0, outputChannels > 0, kernelSize > 0, stride > 0, padding >= 0 else {
                throw ArchitectureError("conv2d: channels, kernel size and stride must be positive and "
                    + "padding non-negative, got \(inputChannels) → \(outputChannels), kernel \(kernelSize), "
                    + "stride \(stride), padding \(padding)")
            }
            guard padding < kernelSize else {
                throw ArchitectureError("conv2d: padding \(padding) must be smaller than the kernel size \(kernelSize)")
            }
            guard Shape.product([outputChannels, inputChannels, kernelSize, kernelSize]) != nil else {
                throw ArchitectureError("conv2d: the weight shape overflows")
            }
        case let .maxPool2d(kernelSize, stride):
            guard kernelSize > 0, stride > 0 else {
                throw ArchitectureError("maxPool2d: kernel size and stride must be positive, got \(kernelSize), \(stride)")
            }
        case let .dropout(rate):
            guard rate >= 0, rate < 1 else { throw ArchitectureError("dropout: rate must be in [0, 1), got \(rate)") }
        case let .leakyRelu(slope):
            guard slope >= 0, slope < 1 else { throw ArchitectureError("leakyRelu: slope must be in [0, 1), got \(slope)") }
        case let .batchNorm(features, momentum, epsilon):
            guard features > 0 else { throw ArchitectureError("batchNorm: features must be positive, got \(features)") }
            guard momentum >= 0, momentum <= 1 else {
                throw ArchitectureError("batchNorm: momentum must be in [0, 1], got \(momentum)")
            }
            guard epsilon > 0, epsilon.isFinite else {
                throw ArchitectureError("batchNorm: epsilon must be positive and finite, got \(epsilon)")
            }
        case .flatten, .relu, .sigmoid, .tanh:
            break
        }
    }

    /// Freshly initialised parameters, in `parameterShapes` order: weights drawn from `random` with
    /// `initializer`, biases zero; BatchNorm's γ one and β zero.
    func initialParameters(initializer: Initializer, random: inout RandomGenerator) -> [Tensor] {
        switch self {
        case let .dense(inputSize, outputSize):
            return [initializer.makeTensor(shape: [outputSize, inputSize], fanIn: inputSize, fanOut: outputSize,
                                           random: &random),
                    Tensor(shape: [outputSize])]
        case let .conv2d(inputChannels, outputChannels, kernelSize, _, _):
            return [initializer.makeTensor(shape: [outputChannels, inputChannels, kernelSize, kernelSize],
                                           fanIn: inputChannels * kernelSize * kernelSize,
                                           fanOut: outputChannels * kernelSize * kernelSize, random: &random),
                    Tensor(shape: [outputChannels])]
        case let .batchNorm(features, _, _):
            return [Tensor(shape: [features], repeating: 1), Tensor(shape: [features])]
        default:
            return []
        }
    }

    /// Initial buffers, in `bufferShapes` order: running mean 0 and running variance 1.
    func initialBuffers() -> [Tensor] {
        switch self {
        case let .batchNorm(features, _, _): [Tensor(shape: [features]), Tensor(shape: [features], repeating: 1)]
        default: []
        }
    }

    private enum CodingKeys: String, CodingKey {
        case type, inputSize, outputSize, inputChannels, outputChannels, kernelSize, stride, padding
        case rate, slope, features, momentum, epsilon
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "dense":
            self = .dense(inputSize: try c.decode(Int.self, forKey: .inputSize),
                          outputSize: try c.decode(Int.self, forKey: .outputSize))
        case "conv2d":
            self = .conv2d(inputChannels: try c.decode(Int.self, forKey: .inputChannels),
                           outputChannels: try c.decode(Int.self, forKey: .outputChannels),
                           kernelSize: try c.decode(Int.self, forKey: .kernelSize),
                           stride: try c.decode(Int.self, forKey: .stride),
                           padding: try c.decode(Int.self, forKey: .padding))
        case "maxPool2d":
            self = .maxPool2d(kernelSize: try c.decode(Int.self, forKey: .kernelSize),
                              stride: try c.decode(Int.self, forKey: .stride))
        case "flatten": self = .flatten
        case "dropout": self = .dropout(rate: try c.decode(Float.self, forKey: .rate))
        case "relu": self = .relu
        case "leakyRelu": self = .leakyRelu(slope: try c.decode(Float.self, forKey: .slope))
        case "sigmoid": self = .sigmoid
        case "tanh": self = .tanh
        case "batchNorm":
            self = .batchNorm(features: try c.decode(Int.self, forKey: .features),
                              momentum: try c.decode(Float.self, forKey: .momentum),
                              epsilon: try c.decode(Float.self, forKey: .epsilon))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c,
                                                   debugDescription: "unknown layer type \"\(type)\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(typeName, forKey: .type)
        switch self {
        case let .dense(inputSize, outputSize):
            try c.encode(inputSize, forKey: .inputSize)
            try c.encode(outputSize, forKey: .outputSize)
        case let .conv2d(inputChannels, outputChannels, kernelSize, stride, padding):
            try c.encode(inputChannels, forKey: .inputChannels)
            try c.encode(outputChannels, forKey: .outputChannels)
            try c.encode(kernelSize, forKey: .kernelSize)
            try c.encode(stride, forKey: .stride)
            try c.encode(padding, forKey: .padding)
        case let .maxPool2d(kernelSize, stride):
            try c.encode(kernelSize, forKey: .kernelSize)
            try c.encode(stride, forKey: .stride)
        case let .dropout(rate): try c.encode(rate, forKey: .rate)
        case let .leakyRelu(slope): try c.encode(slope, forKey: .slope)
        case let .batchNorm(features, momentum, epsilon):
            try c.encode(features, forKey: .features)
            try c.encode(momentum, forKey: .momentum)
            try c.encode(epsilon, forKey: .epsilon)
        case .flatten, .relu, .sigmoid, .tanh: break
        }
    }
}

/// Why an architecture or an input shape does not fit.
public struct ArchitectureError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Overflow-checked shape arithmetic, for shapes that come from files.
public enum Shape {
    /// The product of the extents, or nil when an extent is negative or the product overflows Int.
    public static func product(_ shape: [Int]) -> Int? {
        var result = 1
        for extent in shape {
            guard extent >= 0 else { return nil }
            let (product, overflow) = result.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            result = product
        }
        return result
    }
}

/// Stops the program with `message` when `condition` is false: for misuse of the public API
/// (mismatched shapes, an optimizer applied to other parameters). Unlike `precondition`, the
/// message is printed in optimised builds too, so the user learns what went wrong.
@inline(__always)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
