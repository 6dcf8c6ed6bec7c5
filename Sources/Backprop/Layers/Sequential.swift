/// A network that applies its layers in order: forward runs them first to last, backward last to
/// first (each backward inverting the forward it follows).
///
/// Shapes are checked once, when the network is built, so a mistake names its layer instead of
/// surfacing inside a kernel. Parameters are named as PyTorch state dicts name them:
/// `layers.<index>.weight`, `layers.<index>.bias`.
public final class Sequential {
    /// Shape of one input sample, e.g. `[1, 28, 28]` or `[13]`.
    public let inputShape: [Int]
    public let layers: [any Layer]
    /// Per-sample output shape of each layer, in order.
    public let layerOutputShapes: [[Int]]
    /// Every trainable parameter, in layer order, weight before bias.
    public let parameters: [Parameter]
    /// Layer-index ranges that run as one step: a Conv2D with the ReLU and/or MaxPool2D it
    /// absorbed, a Dense with its ReLU, or a single layer. The first layer of a step runs the whole step.
    public let steps: [Range<Int>]

    /// Builds a network from ready layers.
    ///
    /// With `fuse` (the default), a Conv2D directly followed by a ReLU and/or a MaxPool2D runs them
    /// inside its per-sample pass, and a Dense applies a following ReLU to its output in place;
    /// results are the same as running the layers one by one.
    /// - Throws: `ArchitectureError` naming the first layer whose input shape does not fit.
    public init(inputShape: [Int], layers: [any Layer], fuse: Bool = true) throws(ArchitectureError) {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ArchitectureError("input shape must be non-empty with positive extents, got \(inputShape)")
        }
        var shape = inputShape
        var shapes: [[Int]] = []
        var parameters: [Parameter] = []
        for (index, layer) in layers.enumerated() {
            do {
                shape = try layer.outputShape(forInput: shape)
            } catch {
                throw ArchitectureError("layer \(index) (\(layer.spec)): \(error.message)")
            }
            shapes.append(shape)
            for parameter in layer.parameters {
                parameter.name = "layers.\(index).\(parameter.name.split(separator: ".").last!)"
                parameters.append(parameter)
            }
        }
        self.inputShape = inputShape
        self.layers = layers
        self.layerOutputShapes = shapes
        self.parameters = parameters
        self.steps = Sequential.plan(layers, fuse: fuse)
    }

    /// Groups each Conv2D with a directly following ReLU and/or MaxPool2D, and each Dense with a
    /// following ReLU, and configures them.
    private static func plan(_ layers: [any Layer], fuse: Bool) -> [Range<Int>] {
        var steps: [Range<Int>] = []
        var index = 0
        while index < layers.count {
            var end = index + 1
            if fuse, let convolution = layers[index] as? Conv2D {
                var fusion = Conv2D.Fusion()
                if end < layers.count, layers[end] is ReLU {
                    fusion.relu = true
                    end += 1
                }
                if end < layers.count, let pool = layers[end] as? MaxPool2D {
                    fusion.poolKernelSize = pool.kernelSize
                    fusion.poolStride = pool.stride
                    end += 1
                }
                convolution.fusion = fusion
            } else if let convolution = layers[index] as? Conv2D {
                convolution.fusion = Conv2D.Fusion()
            } else if let dense = layers[index] as? Dense {
                dense.fusedReLU = fuse && end < layers.count && layers[end] is ReLU
                if dense.fusedReLU { end += 1 }
            }
            steps.append(index..<end)
            index = end
        }
        return steps
    }

    /// Builds and initialises a network from its architecture.
    ///
    /// Layers that feed a ReLU-family activation get He initialisation, others Xavier, with
    /// zero biases; `random` makes the weights reproducible.
    public convenience init(inputShape: [Int], specs: [LayerSpec], random: inout RandomGenerator,
                            fuse: Bool = true) throws(ArchitectureError) {
        var layers: [any Layer] = []
        for (index, spec) in specs.enumerated() {
            let next = specs[(index + 1)...].first { spec in
                switch spec {
                case .dropout, .flatten, .maxPool2d: false
                default: true
                }
            }
            let initializer: Initializer = switch next {
            case .relu?, .leakyRelu?: .heNormal
            default: .xavierUniform
            }
            do {
                layers.append(try spec.makeLayer(random: &random, initializer: initializer))
            } catch {
                throw ArchitectureError("layer \(index): \(error.message)")
            }
        }
        try self.init(inputShape: inputShape, layers: layers, fuse: fuse)
    }

    /// The architecture, layer by layer.
    public var specs: [LayerSpec] { layers.map(\.spec) }

    /// Per-sample output shape of the whole network.
    public var outputShape: [Int] { layerOutputShapes.last ?? inputShape }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Runs every layer on a batch `[batch] + inputShape` and returns `[batch] + outputShape`.
    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        precondition(input.rank == inputShape.count + 1 && Array(input.shape.dropFirst()) == inputShape
                        && input.shape[0] >= 1,
                     "Sequential.forward: expected [batch ≥ 1] + \(inputShape), got \(input.shape)")
        var activation = input
        for step in steps {
            activation = layers[step.lowerBound].forward(activation, context: &context)
        }
        return activation
    }

    /// Back-propagates dLoss/dOutput of the last `forward` through every layer, adding to each
    /// parameter's gradient. Returns dLoss/dInput when `needsInputGradient` (gradient checks);
    /// otherwise the first layers skip computing gradients nobody uses.
    @discardableResult
    public func backward(_ outputGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool = false) -> Tensor? {
        // Steps before the first parameter need no gradient at all unless the caller wants dInput.
        let firstTrainable = steps.firstIndex { !layers[$0.lowerBound].parameters.isEmpty } ?? steps.count
        let lowest = needsInputGradient ? 0 : firstTrainable
        var gradient: Tensor? = outputGradient
        for index in stride(from: steps.count - 1, through: lowest, by: -1) {
            guard let current = gradient else { break }
            gradient = layers[steps[index].lowerBound].backward(
                current, context: context, needsInputGradient: index > lowest || needsInputGradient)
        }
        return needsInputGradient ? gradient : nil
    }

    /// Sets every parameter gradient to zero.
    public func zeroGradients() {
        for parameter in parameters { parameter.zeroGradient() }
    }

    /// Inference on any number of samples, `batchSize` at a time, with dropout off.
    /// - Returns: `[samples] + outputShape`.
    public func predict(_ inputs: Tensor, batchSize: Int = 256,
                        threads: Int = ExecutionContext.availableProcessors,
                        kernels: KernelPath = .best) -> Tensor {
        let count = inputs.shape[0]
        var context = ExecutionContext(isTraining: false, threads: threads, kernels: kernels)
        let outputSize = outputShape.reduce(1, *)
        var result = [Float]()
        result.reserveCapacity(count * outputSize)
        var start = 0
        while start < count {
            let end = min(count, start + batchSize)
            result += forward(inputs.slice(start..<end), context: &context).scalars
            start = end
        }
        return Tensor(shape: [count] + outputShape, scalars: result)
    }

    /// A copy of every parameter value, in `parameters` order.
    public func weights() -> [Tensor] { parameters.map(\.value) }

    /// Replaces every parameter value, in `parameters` order; shapes must match.
    public func setWeights(_ weights: [Tensor]) {
        precondition(weights.count == parameters.count, "setWeights: \(weights.count) tensors for \(parameters.count) parameters")
        for (parameter, value) in zip(parameters, weights) {
            precondition(parameter.value.shape == value.shape,
                         "setWeights: \(parameter.name) is \(parameter.value.shape), got \(value.shape)")
            parameter.value = value
        }
    }
}
