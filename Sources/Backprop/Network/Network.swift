import MatrixKernels

/// A network that applies its layers in order, as an immutable value: its architecture, the
/// compiled steps that run it, and its weights.
///
/// A `Network` never changes while it runs. Inference (``forward(_:context:)``, ``predict(_:batchSize:threads:kernels:)``)
/// reads only the network and memory of its own, so one instance may serve any number of threads
/// at once. Training keeps its per-call memory in a caller-owned ``Tape`` and its gradients in a
/// caller-owned array; only the optimizer's update and BatchNorm's running statistics change the
/// weights, through `mutating` methods on a network the trainer owns.
///
/// Shapes are checked once, when the network is built, so a mistake names its layer instead of
/// surfacing inside a kernel. Parameters and buffers are named as PyTorch state dicts name them:
/// `layers.<index>.weight`, `layers.<index>.bias`, `layers.<index>.running_mean`, ...
public struct Network: Sendable {
    /// Shape of one input sample, e.g. `[1, 28, 28]` or `[13]`.
    public let inputShape: [Int]
    /// The architecture, layer by layer.
    public let layers: [LayerSpec]
    /// Per-sample output shape of each layer, in order.
    public let layerOutputShapes: [[Int]]
    /// The compiled plan for training: what actually runs, fused steps included.
    public let steps: [any Step]
    /// The plan for inference: `steps`, with each BatchNorm that follows a convolution or dense
    /// layer folded into that layer's weights (the same as `steps` in a network without BatchNorm).
    public let inferenceSteps: [any Step]
    /// Trainable tensors, in layer order, weight before bias.
    public private(set) var parameters: [Tensor] { didSet { preparedWeights = PreparedWeights() } }
    /// State updated without gradients (BatchNorm running statistics), in layer order.
    public private(set) var buffers: [Tensor] { didSet { preparedWeights = PreparedWeights() } }
    /// What inference prepares from `parameters` and `buffers` once (BatchNorms folded, weights
    /// packed); replaced by an empty one whenever they change.
    private var preparedWeights = PreparedWeights()
    /// How many of `inferenceSteps`, from the first, inference runs a few samples at a time (see
    /// ``forward(_:context:)``); 0 for none.
    private let groupedSteps: Int
    /// Multiply-adds of one sample's forward pass through the convolutions and dense layers.
    let multiplyAddsPerSample: Int
    /// State-dict names of `parameters`, e.g. `layers.0.weight`.
    public let parameterNames: [String]
    /// State-dict names of `buffers`, e.g. `layers.1.running_mean`.
    public let bufferNames: [String]

    /// The network's tensors: what a model file stores and a checkpoint restores.
    public struct Weights: Sendable, Equatable {
        public var parameters: [Tensor]
        public var buffers: [Tensor]

        public init(parameters: [Tensor], buffers: [Tensor] = []) {
            self.parameters = parameters
            self.buffers = buffers
        }

        /// Whether every element of every tensor is finite.
        public var isFinite: Bool { parameters.allSatisfy(\.isFinite) && buffers.allSatisfy(\.isFinite) }
    }

    /// Builds a network from its architecture and weights (a loaded model: nothing is drawn at random).
    ///
    /// With `fuse` (the default), a Conv2D directly followed by a ReLU and/or a MaxPool2D, and a
    /// Dense directly followed by a ReLU, each compile to one step; results are the same as
    /// running the layers one by one.
    /// - Throws: `ArchitectureError` naming the first layer whose input does not fit, or the first
    ///   tensor whose shape is not the one its layer needs.
    public init(inputShape: [Int], layers: [LayerSpec], weights: Weights, fuse: Bool = true) throws(ArchitectureError) {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }), Shape.product(inputShape) != nil else {
            throw ArchitectureError("input shape must be non-empty with positive extents, got \(inputShape)")
        }
        var shapes = [inputShape]
        var parameterNames: [String] = [], bufferNames: [String] = []
        var parameterShapes: [[Int]] = [], bufferShapes: [[Int]] = []
        for (index, layer) in layers.enumerated() {
            do {
                shapes.append(try layer.outputShape(forInput: shapes[index]))
            } catch {
                throw ArchitectureError("layer \(index) (\(layer)): \(error.message)")
            }
            for (name, shape) in layer.parameterShapes {
                parameterNames.append("layers.\(index).\(name)")
                parameterShapes.append(shape)
            }
            for (name, shape) in layer.bufferShapes {
                bufferNames.append("layers.\(index).\(name)")
                bufferShapes.append(shape)
            }
        }
        try Self.check(weights.parameters, names: parameterNames, shapes: parameterShapes, kind: "parameter")
        try Self.check(weights.buffers, names: bufferNames, shapes: bufferShapes, kind: "buffer")
        self.inputShape = inputShape
        self.layers = layers
        self.layerOutputShapes = Array(shapes.dropFirst())
        self.steps = ExecutionPlan.compile(layers, shapes: shapes, fuse: fuse)
        self.inferenceSteps = fuse && layers.contains(where: \.isBatchNorm)
            ? ExecutionPlan.compile(layers, shapes: shapes, fuse: true, foldBatchNorm: true) : steps
        // The steps before the first dense layer, when there are several and one of their
        // activations is 64 KB a sample or more (LeNet's 14 KB ran 5 % slower in groups).
        let leading = inferenceSteps.prefix { !($0 is DenseStep) }
        let largestActivation = leading.map { shapes[$0.layers.upperBound].reduce(1, *) }.max() ?? 0
        self.groupedSteps = leading.count > 1 && largestActivation >= 1 << 14 ? leading.count : 0
        self.multiplyAddsPerSample = zip(layers, shapes.dropFirst()).reduce(0) { total, layer in
            switch layer.0 {
            case let .conv2d(inputChannels, _, kernelSize, _, _):
                total + inputChannels * kernelSize * kernelSize * layer.1.reduce(1, *)
            case let .dense(inputSize, outputSize): total + inputSize * outputSize
            default: total
            }
        }
        self.parameters = weights.parameters
        self.buffers = weights.buffers
        self.parameterNames = parameterNames
        self.bufferNames = bufferNames
    }

    /// Builds and initialises a network from its architecture.
    ///
    /// Layers that feed a ReLU-family activation get He initialisation, others Xavier, with zero
    /// biases; BatchNorm starts as the identity (γ 1, β 0, running mean 0, running variance 1).
    /// `random` makes the weights reproducible.
    public init(inputShape: [Int], layers: [LayerSpec], random: inout RandomGenerator,
                fuse: Bool = true) throws(ArchitectureError) {
        // Shapes first, so that a bad architecture is reported before anything is drawn.
        var shape = inputShape
        for (index, layer) in layers.enumerated() {
            do {
                shape = try layer.outputShape(forInput: shape)
            } catch {
                throw ArchitectureError("layer \(index) (\(layer)): \(error.message)")
            }
        }
        var parameters: [Tensor] = [], buffers: [Tensor] = []
        for (index, layer) in layers.enumerated() {
            let next = layers[(index + 1)...].first { !$0.isStructural }
            let initializer: Initializer = switch next {
            case .relu?, .leakyRelu?: .heNormal
            default: .xavierUniform
            }
            parameters += layer.initialParameters(initializer: initializer, random: &random)
            buffers += layer.initialBuffers()
        }
        try self.init(inputShape: inputShape, layers: layers, weights: Weights(parameters: parameters, buffers: buffers),
                      fuse: fuse)
    }

    private static func check(_ tensors: [Tensor], names: [String], shapes: [[Int]], kind: String) throws(ArchitectureError) {
        guard tensors.count == shapes.count else {
            throw ArchitectureError("the architecture has \(shapes.count) \(kind)s, got \(tensors.count) tensors")
        }
        for (index, tensor) in tensors.enumerated() where tensor.shape != shapes[index] {
            throw ArchitectureError("\(names[index]) must have shape \(shapes[index]), got \(tensor.shape)")
        }
    }

    /// Per-sample output shape of the whole network.
    public var outputShape: [Int] { layerOutputShapes.last ?? inputShape }

    /// Whether a layer normalises with batch statistics (training then needs the whole batch at once).
    public var hasBatchNorm: Bool { layers.contains(where: \.isBatchNorm) }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// The parameters and buffers, e.g. for a checkpoint or to keep the best epoch's weights.
    public var weights: Weights { Weights(parameters: parameters, buffers: buffers) }

    /// Replaces every parameter and buffer with tensors of the same shapes.
    /// - Precondition: the shapes are exactly the current ones (build a new network to change them).
    public mutating func setWeights(_ weights: Weights) {
        require(weights.parameters.count == parameters.count && weights.buffers.count == buffers.count,
                     "Network.setWeights: \(weights.parameters.count) parameters and \(weights.buffers.count) buffers "
                        + "for a network of \(parameters.count) and \(buffers.count)")
        for (index, tensor) in weights.parameters.enumerated() {
            require(tensor.shape == parameters[index].shape,
                         "Network.setWeights: \(parameterNames[index]) is \(parameters[index].shape), got \(tensor.shape)")
        }
        for (index, tensor) in weights.buffers.enumerated() {
            require(tensor.shape == buffers[index].shape,
                         "Network.setWeights: \(bufferNames[index]) is \(buffers[index].shape), got \(tensor.shape)")
        }
        parameters = weights.parameters
        buffers = weights.buffers
    }

    /// Calls `body` with each parameter's memory in turn, for writing in place (optimizers).
    /// Shapes cannot change this way.
    public mutating func updateParameters(_ body: (_ index: Int, _ values: UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        for index in parameters.indices {
            try parameters[index].withUnsafeMutableBufferPointer { try body(index, $0) }
        }
    }

    /// Zero-filled gradients, one per parameter with its shape: what ``backward(_:tape:gradients:context:needsInputGradient:)``
    /// accumulates into.
    public func makeGradients() -> [Tensor] { parameters.map { Tensor(shape: $0.shape) } }

    // MARK: - Running

    /// Inference on a batch `[batch] + inputShape`: dropout off, BatchNorm on its running
    /// statistics. Returns `[batch] + outputShape`. Safe to call from many threads at once.
    public func forward(_ input: Tensor, context: ExecutionContext = ExecutionContext()) -> Tensor {
        checkInput(input)
        let context = inferenceContext(context)
        // The first `groupedSteps` steps run a few samples at a time, each group through all of
        // them on one thread, so that a sample's activations stay in that core's cache instead of
        // passing through memory once per layer for the whole batch (the MNIST CNN's first
        // convolution writes 5.5 MB per 64 images, which the second reads back). Dense layers take
        // the whole batch: their weights are read once per call.
        let samplesPerGroup = 4
        if groupedSteps > 0 && input.shape[0] >= 2 * samplesPerGroup && context.threads > 1 {
            let activation = forwardInGroups(input, steps: inferenceSteps[..<groupedSteps],
                                             samplesPerGroup: samplesPerGroup, context: context)
            return forward(activation, steps: inferenceSteps[groupedSteps...], context: context)
        }
        // A call of ~10-400 µs is made of regions too short for a sleeping thread to join in
        // time (one image through the MNIST CNN: 2.4e7 multiply-adds, ~150 µs on one core): when
        // it follows another call closely, keep the other threads awake for it, so that its
        // convolution and dense layers use them.
        let multiplyAdds = Double(input.shape[0]) * Double(multiplyAddsPerSample)
        if context.threads > 1 && multiplyAdds >= 2e6 && multiplyAdds <= 1e8 {
            return Parallel.withAwakeWorkers(threads: context.threads, onlyInBursts: true) {
                forward(input, steps: inferenceSteps[...], context: context)
            }
        }
        return forward(input, steps: inferenceSteps[...], context: context)
    }

    /// `steps` one after the other on the whole batch.
    private func forward(_ input: Tensor, steps: ArraySlice<any Step>, context: ExecutionContext) -> Tensor {
        var activation = input
        for step in steps {
            activation = step.forward(activation, parameters: parameters, buffers: buffers, context: context)
        }
        return activation
    }

    /// `steps` on `input` a group of `samplesPerGroup` samples at a time, the groups in parallel,
    /// each on one thread. Inference steps treat samples independently and per-sample results do
    /// not depend on the thread count, so this gives exactly what running the steps on the whole
    /// batch gives.
    private func forwardInGroups(_ input: Tensor, steps: ArraySlice<any Step>, samplesPerGroup: Int,
                                 context: ExecutionContext) -> Tensor {
        let batch = input.shape[0]
        let outputShape = layerOutputShapes[steps.last!.layers.upperBound - 1]
        let outputSize = outputShape.reduce(1, *)
        var oneThread = context
        oneThread.threads = 1
        let groups = (batch + samplesPerGroup - 1) / samplesPerGroup
        return Tensor(shape: [batch] + outputShape, uninitialized: { output in
            Parallel.forEach(tasks: groups, threads: context.threads) { group in
                let samples = (group * samplesPerGroup)..<min(batch, (group + 1) * samplesPerGroup)
                var activation = input.slice(samples)
                for step in steps {
                    activation = step.forward(activation, parameters: parameters, buffers: buffers, context: oneThread)
                }
                activation.withUnsafeBufferPointer {
                    (output.baseAddress! + samples.lowerBound * outputSize).update(from: $0.baseAddress!, count: $0.count)
                }
            }
        })
    }

    /// `context` carrying this network's prepared inference weights (BatchNorms folded and weights
    /// packed once, not on every call): what ``forward(_:context:)`` gives each step of
    /// `inferenceSteps`, for callers that run them one by one, e.g. to time each.
    public func inferenceContext(_ context: ExecutionContext) -> ExecutionContext {
        var context = context
        context.preparedWeights = preparedWeights
        return context
    }

    /// A training forward pass on a batch: dropout drops (drawing from `context.random`), BatchNorm
    /// normalises with batch statistics and updates its running statistics, and `tape` records
    /// what ``backward(_:tape:gradients:context:needsInputGradient:)`` needs.
    public mutating func forward(_ input: Tensor, tape: inout Tape, context: inout ExecutionContext) -> Tensor {
        checkInput(input)
        if tape.memories.count != steps.count { tape.memories = Array(repeating: StepMemory(), count: steps.count) }
        tape.batchSize = input.shape[0]
        var activation = input
        for index in steps.indices {
            let step = steps[index]
            activation = step.forward(activation, parameters: parameters, buffers: buffers, memory: &tape.memories[index],
                                      context: &context)
            step.updateBuffers(&buffers, memory: tape.memories[index])
        }
        return activation
    }

    /// Back-propagates dLoss/dOutput of the pass `tape` recorded, adding dLoss/dParameter to
    /// `gradients` (one per parameter, see ``makeGradients()``). Returns dLoss/dInput when
    /// `needsInputGradient`; otherwise the first steps skip computing gradients nobody uses.
    @discardableResult
    public func backward(_ outputGradient: Tensor, tape: Tape, gradients: inout [Tensor],
                         context: ExecutionContext = ExecutionContext(), needsInputGradient: Bool = false) -> Tensor? {
        require(tape.memories.count == steps.count && outputGradient.rank >= 1 && outputGradient.shape[0] == tape.batchSize,
                     "Network.backward: the tape was not recorded by this network's forward pass on a batch of "
                        + "\(outputGradient.shape.first ?? 0)")
        require(gradients.count == parameters.count && zip(gradients, parameters).allSatisfy { $0.shape == $1.shape },
                     "Network.backward: gradients must match the parameters one for one (use makeGradients())")
        // Steps before the first parameter need no gradient at all unless the caller wants dInput.
        let firstTrainable = steps.firstIndex { $0.parameterCount > 0 } ?? steps.count
        let lowest = needsInputGradient ? 0 : firstTrainable
        var gradient: Tensor? = outputGradient
        for index in stride(from: steps.count - 1, through: lowest, by: -1) {
            guard let current = gradient else { break }
            gradient = steps[index].backward(current, parameters: parameters, memory: tape.memories[index],
                                             gradients: &gradients, context: context,
                                             needsInputGradient: index > lowest || needsInputGradient)
        }
        return needsInputGradient ? gradient : nil
    }

    /// A training forward and backward pass on no rows, for a data-parallel rank with no share of
    /// a batch (see ``Step/idleForward(context:)``): takes the same random draws and joins the same
    /// sums over the ranks as a pass on rows would, in the same order.
    public func idlePass(context: inout ExecutionContext) {
        for step in steps { step.idleForward(context: &context) }
        let lowest = steps.firstIndex { $0.parameterCount > 0 } ?? steps.count
        for index in stride(from: steps.count - 1, through: lowest, by: -1) {
            steps[index].idleBackward(context: context, needsInputGradient: index > lowest)
        }
    }

    /// Inference on any number of samples, `batchSize` at a time. Returns `[samples] + outputShape`.
    /// Safe to call from many threads at once.
    public func predict(_ inputs: Tensor, batchSize: Int = 256,
                        threads: Int = ExecutionContext.availableProcessors,
                        kernels: KernelPath = .best) -> Tensor {
        checkInput(inputs, allowEmpty: true)
        let count = inputs.shape[0]
        let context = ExecutionContext(threads: threads, kernels: kernels)
        let outputSize = outputShape.reduce(1, *)
        var result = [Float]()
        result.reserveCapacity(count * outputSize)
        var start = 0
        while start < count {
            let end = min(count, start + batchSize)
            result += forward(start == 0 && end == count ? inputs : inputs.slice(start..<end), context: context).scalars
            start = end
        }
        return Tensor(shape: [count] + outputShape, scalars: result)
    }

    private func checkInput(_ input: Tensor, allowEmpty: Bool = false) {
        require(input.rank == inputShape.count + 1 && Array(input.shape.dropFirst()) == inputShape
                        && (allowEmpty || input.shape[0] >= 1),
                     "Network: expected input [batch ≥ 1] + \(inputShape), got \(input.shape)")
    }
}

extension Network: Equatable {
    /// Networks are equal when they have the same architecture, plan and weights.
    public static func == (a: Network, b: Network) -> Bool {
        a.inputShape == b.inputShape && a.layers == b.layers && a.steps.count == b.steps.count
            && a.parameters == b.parameters && a.buffers == b.buffers
    }
}
