import Dispatch
import Synchronization
import Testing
import Backprop

@Suite("Networks as immutable values")
struct NetworkTests {
    static let digitLikeLayers: [LayerSpec] = [
        .conv2d(inputChannels: 1, outputChannels: 8, kernelSize: 3, stride: 1, padding: 1), .relu,
        .maxPool2d(kernelSize: 2, stride: 2), .conv2d(inputChannels: 8, outputChannels: 8, kernelSize: 3, stride: 1, padding: 1),
        .batchNorm(features: 8), .relu, .maxPool2d(kernelSize: 2, stride: 2), .dropout(rate: 0.25), .flatten,
        .dense(inputSize: 8 * 4 * 4, outputSize: 16), .relu, .dense(inputSize: 16, outputSize: 10),
    ]

    @Test("predict on one network from 8 threads at once gives exactly the sequential outputs")
    func concurrentPredict() throws {
        var random = RandomGenerator(seed: 1)
        let network = try Network(inputShape: [1, 16, 16], layers: Self.digitLikeLayers, random: &random)
        let inputs = (0..<8).map { uniformValues([5 + $0, 1, 16, 16], seed: UInt64($0)) }
        let sequential = inputs.map { network.predict($0, batchSize: 4, threads: 2) }
        let results = ResultBox(count: inputs.count)
        for _ in 0..<3 {
            DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
                results.set(index, network.predict(inputs[index], batchSize: 4, threads: 2))
            }
            #expect(results.values == sequential)
        }
    }

    @Test("A network built from weights holds exactly them; a tensor of the wrong shape is an error naming it")
    func buildFromWeights() throws {
        var random = RandomGenerator(seed: 2)
        let trained = try Network(inputShape: [1, 16, 16], layers: Self.digitLikeLayers, random: &random)
        let rebuilt = try Network(inputShape: [1, 16, 16], layers: Self.digitLikeLayers, weights: trained.weights)
        #expect(rebuilt == trained)
        #expect(rebuilt.parameterNames.contains("layers.4.weight") && rebuilt.bufferNames == ["layers.4.running_mean",
                                                                                            "layers.4.running_var"])
        var weights = trained.weights
        weights.parameters[2] = Tensor(shape: [8, 8, 3, 2])
        #expect(throws: ArchitectureError("layers.3.weight must have shape [8, 8, 3, 3], got [8, 8, 3, 2]")) {
            try Network(inputShape: [1, 16, 16], layers: Self.digitLikeLayers, weights: weights)
        }
        weights = trained.weights
        weights.buffers.removeLast()
        #expect(throws: ArchitectureError.self) {
            try Network(inputShape: [1, 16, 16], layers: Self.digitLikeLayers, weights: weights)
        }
    }

    @Test("Shapes whose products overflow are architecture errors, not traps")
    func overflowingShapes() {
        let huge = 1 << 62
        #expect(throws: ArchitectureError.self) {
            try Network(inputShape: [1, huge, huge], layers: [.maxPool2d(kernelSize: 2, stride: 2)], weights: .init(parameters: []))
        }
        #expect(throws: ArchitectureError.self) {
            try Network(inputShape: [4, huge], layers: [.flatten], weights: .init(parameters: []))
        }
        var random = RandomGenerator(seed: 0)
        #expect(throws: ArchitectureError.self) {
            try Network(inputShape: [3, huge, 2], layers: [.flatten, .dense(inputSize: 6, outputSize: 1)], random: &random)
        }
    }

    @Test("Training forward leaves parameters alone and moves only BatchNorm's running statistics")
    func trainingForwardWrites() throws {
        var random = RandomGenerator(seed: 3)
        var network = try Network(inputShape: [1, 16, 16], layers: Self.digitLikeLayers, random: &random)
        let before = network
        var tape = Tape()
        var context = ExecutionContext()
        _ = network.forward(uniformValues([4, 1, 16, 16], seed: 9), tape: &tape, context: &context)
        #expect(network.parameters == before.parameters)
        #expect(network.buffers != before.buffers)
        #expect(tape.memories.count == network.steps.count && tape.batchSize == 4)
    }

    @Test("Inference folds each BatchNorm into the layer before it and matches running the layers one by one",
          arguments: supportedKernelPaths)
    func foldedBatchNorm(kernels: KernelPath) throws {
        var random = RandomGenerator(seed: 4)
        let layers = Self.digitLikeLayers + [.batchNorm(features: 10)]
        var folded = try Network(inputShape: [1, 16, 16], layers: layers, random: &random)
        // Running statistics and γ, β away from the identity, as after training.
        var weights = folded.weights
        weights.buffers = weights.buffers.enumerated().map { index, tensor in
            Tensor(shape: tensor.shape, scalars: uniformValues(tensor.shape, seed: UInt64(index)).scalars.map {
                index % 2 == 0 ? $0 : 0.5 + abs($0)
            })
        }
        for (index, name) in folded.parameterNames.enumerated() where ["layers.4.weight", "layers.4.bias", "layers.12.weight"].contains(name) {
            weights.parameters[index] = uniformValues(weights.parameters[index].shape, seed: 40 + UInt64(index))
        }
        folded.setWeights(weights)
        let plain = try Network(inputShape: [1, 16, 16], layers: layers, weights: weights, fuse: false)
        #expect(folded.inferenceSteps.map(\.description) == [
            "Convolution 1→8 3×3 padding 1 + ReLU + max-pool 2×2",
            "Convolution 8→8 3×3 padding 1 + BatchNorm (folded) + ReLU + max-pool 2×2",
            "Dropout 0.25", "Flatten", "Dense 128→16 + ReLU", "Dense 16→10 + BatchNorm (folded)",
        ])
        // Training runs the convolution's BatchNorm inside it too, with batch statistics; the dense
        // layer's stays a step of its own.
        #expect(folded.steps.map(\.description) == [
            "Convolution 1→8 3×3 padding 1 + ReLU + max-pool 2×2",
            "Convolution 8→8 3×3 padding 1 + BatchNorm + ReLU + max-pool 2×2",
            "Dropout 0.25", "Flatten", "Dense 128→16 + ReLU", "Dense 16→10", "BatchNorm 10",
        ])
        #expect(plain.inferenceSteps.count == layers.count)
        let input = uniformValues([5, 1, 16, 16], seed: 8)
        let context = ExecutionContext(kernels: kernels)
        let difference = maxDifference(folded.forward(input, context: context), plain.forward(input, context: context))
        #expect(difference < 1e-4, "\(difference)")
    }

    @Test("Inference's packed dense weights give exactly the unpacked products and follow every change of the weights",
          arguments: supportedKernelPaths)
    func preparedWeightsFollowChanges(kernels: KernelPath) throws {
        var random = RandomGenerator(seed: 5)
        let layers = Self.digitLikeLayers + [.batchNorm(features: 10)]
        var network = try Network(inputShape: [1, 16, 16], layers: layers, random: &random)
        let context = ExecutionContext(threads: 2, kernels: kernels)
        let input = uniformValues([9, 1, 16, 16], seed: 6)   // more than 4 rows: the blocked GEMM's path
        // The plan's steps run one by one with a context of their own, which packs nothing beforehand.
        func unprepared(_ network: Network) -> Tensor { Self.stepByStep(network, input, context: context) }
        #expect(network.forward(input, context: context) == unprepared(network))
        #expect(network.forward(input, context: context) == unprepared(network), "second call, from the packed weights")
        let copy = network
        var weights = network.weights
        weights.parameters = weights.parameters.enumerated().map { uniformValues($1.shape, seed: 60 + UInt64($0)) }
        network.setWeights(weights)
        #expect(network.forward(input, context: context) == unprepared(network), "after setWeights")
        network.updateParameters { _, values in for i in values.indices { values[i] *= 0.5 } }
        #expect(network.forward(input, context: context) == unprepared(network), "after updateParameters")
        var tape = Tape()
        var training = ExecutionContext(kernels: kernels)
        _ = network.forward(input, tape: &tape, context: &training)   // moves the folded BatchNorm's statistics
        #expect(network.forward(input, context: context) == unprepared(network), "after a training pass")
        #expect(copy.forward(input, context: context) == unprepared(copy), "a copy made before keeps its own weights")
    }

    @Test("Inference runs the layers before the first dense one a few samples at a time and gives exactly the whole batch's outputs",
          arguments: supportedKernelPaths)
    func groupedInference(kernels: KernelPath) throws {
        var random = RandomGenerator(seed: 8)
        // 16×32×32 = 16,384 floats after the first convolution: large enough to be run in groups.
        let network = try Self.twoConvolutions(secondChannels: 8, random: &random)
        let context = ExecutionContext(threads: 2, kernels: kernels)
        for batch in [10, 9] {   // groups of 4, 4 and 2; of 4, 4 and 1
            let input = uniformValues([batch, 1, 32, 32], seed: UInt64(batch))
            let wholeBatch = Self.stepByStep(network, input, context: network.inferenceContext(context))
            #expect(network.forward(input, context: context) == wholeBatch, "batch of \(batch)")
        }
    }

    @Test("Short calls, run with the other threads kept awake, give exactly the one-thread outputs, from many callers at once",
          arguments: supportedKernelPaths)
    func awakeWorkersInference(kernels: KernelPath) throws {
        var random = RandomGenerator(seed: 9)
        // 4.9 M multiply-adds a sample: batches of 1-20 keep workers awake (2e6-1e8), and one
        // sample's second convolution (16 → 32, padded, pooled) runs in bands of output rows.
        let pooled = try Self.twoConvolutions(secondChannels: 32, random: &random)
        // 2.2 M: a convolution in bands without padding or pooling, 28 rows in bands of 5 and 3.
        let plain = try Network(inputShape: [12, 30, 30], layers: [
            .conv2d(inputChannels: 12, outputChannels: 24, kernelSize: 3, stride: 1, padding: 0), .relu,
            .flatten, .dense(inputSize: 24 * 28 * 28, outputSize: 10),
        ], random: &random)
        let cases = [1, 2, 3, 7].map { (pooled, uniformValues([$0, 1, 32, 32], seed: UInt64($0))) }
            + [1, 2].map { (plain, uniformValues([$0, 12, 30, 30], seed: UInt64(10 + $0))) }
        let oneThread = cases.map { $0.0.forward($0.1, context: ExecutionContext(threads: 1, kernels: kernels)) }
        let context = ExecutionContext(threads: 2, kernels: kernels)
        for ((network, input), expected) in zip(cases, oneThread) {
            #expect(network.forward(input, context: context) == expected, "\(network.inputShape), batch of \(input.shape[0])")
        }
        // Eight callers at once: one of them at a time keeps workers awake, all get exact outputs.
        let mismatches = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { caller in
            for round in 0..<20 {
                let index = (caller + round) % cases.count
                if cases[index].0.forward(cases[index].1, context: context) != oneThread[index] {
                    mismatches.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(mismatches.load(ordering: .relaxed) == 0, "concurrent callers got other outputs")
    }

    /// [1, 32, 32] → conv 1→16 → conv 16→`secondChannels` (3×3, padded, ReLU) → max-pool 2 → dense → 10.
    static func twoConvolutions(secondChannels: Int, random: inout RandomGenerator) throws -> Network {
        try Network(inputShape: [1, 32, 32], layers: [
            .conv2d(inputChannels: 1, outputChannels: 16, kernelSize: 3, stride: 1, padding: 1), .relu,
            .conv2d(inputChannels: 16, outputChannels: secondChannels, kernelSize: 3, stride: 1, padding: 1), .relu,
            .maxPool2d(kernelSize: 2, stride: 2), .flatten, .dense(inputSize: secondChannels * 16 * 16, outputSize: 10),
        ], random: &random)
    }

    /// The network's inference steps run one after the other on the whole batch, with `context`.
    static func stepByStep(_ network: Network, _ input: Tensor, context: ExecutionContext) -> Tensor {
        network.inferenceSteps.reduce(input) {
            $1.forward($0, parameters: network.parameters, buffers: network.buffers, context: context)
        }
    }

    // MARK: - Misuse that used to corrupt memory now stops with a clear message.

    @Test("An optimizer given another parameter list stops with a message naming the parameter")
    func optimizerOnTwoParameterLists() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let adam = Adam()
            var a = [Tensor(shape: [4]), Tensor(shape: [2])]
            var b = [Tensor(shape: [100])]
            adam.step(&a, gradients: a.map { Tensor(shape: $0.shape, repeating: 1) })
            adam.step(&b, gradients: b.map { Tensor(shape: $0.shape, repeating: 1) })
        }.map { result in
            let message = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(message.contains("Adam.step: given 1 parameters, but its state was made for 2"), "\(message)")
        }
    }

    @Test("An optimizer whose parameters changed shape stops with a message naming the parameter")
    func optimizerAfterReshape() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let sgd = SGD(learningRate: 0.1, momentum: 0.9)
            var parameters = [Tensor(shape: [3]), Tensor(shape: [2])]
            sgd.step(&parameters, gradients: parameters.map { Tensor(shape: $0.shape) })
            parameters[1] = Tensor(shape: [1000])
            sgd.step(&parameters, gradients: parameters.map { Tensor(shape: $0.shape) })
        }.map { result in
            let message = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(message.contains("SGD.step: parameter 1 has shape [1000], but its state was made for [2]"), "\(message)")
        }
    }

    @Test("Gradients of another shape than the parameters stop the step with a message")
    func mismatchedGradients() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var random = RandomGenerator(seed: 1)
            var network = try! Network(inputShape: [3], layers: [.dense(inputSize: 3, outputSize: 2)], random: &random)
            AdamW().step(&network, gradients: [Tensor(shape: [6]), Tensor(shape: [2])])
        }.map { result in
            let message = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(message.contains("the gradient of parameter 0 has shape [6], the parameter [2, 3]"), "\(message)")
        }
    }
}

/// Results written by concurrent tasks, each to its own slot.
private final class ResultBox: @unchecked Sendable {
    private var storage: [Tensor]
    private let lock = DispatchSemaphore(value: 1)
    init(count: Int) { storage = Array(repeating: Tensor(shape: [0]), count: count) }
    func set(_ index: Int, _ value: Tensor) {
        lock.wait()
        storage[index] = value
        lock.signal()
    }
    var values: [Tensor] {
        lock.wait()
        defer { lock.signal() }
        return storage
    }
}
