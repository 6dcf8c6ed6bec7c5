/// The architecture of one layer, without weights: what a model file records so that a loader
/// can rebuild the network before filling in its parameters.
///
/// Encoded as a flat JSON object with a `type` field, e.g.
/// `{"type":"conv2d","inputChannels":1,"outputChannels":32,"kernelSize":3,"stride":1,"padding":0}`.
public enum LayerSpec: Equatable, Sendable, Codable, CustomStringConvertible {
    case dense(inputSize: Int, outputSize: Int)
    case conv2d(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int, padding: Int)
    case maxPool2d(kernelSize: Int, stride: Int)
    case flatten
    case dropout(rate: Float)
    case relu
    case leakyRelu(slope: Float)
    case sigmoid
    case tanh

    /// The `type` string in JSON.
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
        }
    }

    /// The names and shapes of the layer's parameters, computed without allocating them
    /// (readers check untrusted files against this before building anything).
    public var parameterShapes: [(name: String, shape: [Int])] {
        switch self {
        case let .dense(inputSize, outputSize):
            [("weight", [outputSize, inputSize]), ("bias", [outputSize])]
        case let .conv2d(inputChannels, outputChannels, kernelSize, _, _):
            [("weight", [outputChannels, inputChannels, kernelSize, kernelSize]), ("bias", [outputChannels])]
        default:
            []
        }
    }

    /// A freshly initialised layer of this architecture. Weight-bearing layers draw from `random`
    /// with the initialiser that suits them (He for layers feeding ReLU-family activations).
    public func makeLayer(random: inout RandomGenerator,
                          initializer: Initializer = .heNormal) throws(ArchitectureError) -> any Layer {
        switch self {
        case let .dense(inputSize, outputSize):
            return try Dense(inputSize: inputSize, outputSize: outputSize,
                             initializer: initializer, random: &random)
        case let .conv2d(inputChannels, outputChannels, kernelSize, stride, padding):
            return try Conv2D(inputChannels: inputChannels, outputChannels: outputChannels,
                              kernelSize: kernelSize, stride: stride, padding: padding,
                              initializer: initializer, random: &random)
        case let .maxPool2d(kernelSize, stride):
            return try MaxPool2D(kernelSize: kernelSize, stride: stride)
        case .flatten: return Flatten()
        case let .dropout(rate): return try Dropout(rate: rate)
        case .relu: return ReLU()
        case let .leakyRelu(slope): return try LeakyReLU(slope: slope)
        case .sigmoid: return Sigmoid()
        case .tanh: return Tanh()
        }
    }

    private enum CodingKeys: String, CodingKey {
        case type, inputSize, outputSize, inputChannels, outputChannels, kernelSize, stride, padding
        case rate, slope
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
        case .flatten, .relu, .sigmoid, .tanh: break
        }
    }
}
