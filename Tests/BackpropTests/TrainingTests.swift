import Testing
import MatrixKernels
import Backprop

@Suite("Learning, determinism and failure handling")
struct TrainingTests {
    @Test("XOR is learned by a two-layer network")
    func xor() throws {
        var random = RandomGenerator(seed: 7)
        let network = try Network(inputShape: [2], layers: [.dense(inputSize: 2, outputSize: 8), .tanh,
                                                            .dense(inputSize: 8, outputSize: 2)], random: &random)
        let data = Dataset(inputs: Tensor(shape: [4, 2], scalars: [0, 0, 0, 1, 1, 0, 1, 1]),
                           targets: Tensor(shape: [4], scalars: [0, 1, 1, 0]))
        let trainer = Trainer(network: network, loss: SoftmaxCrossEntropy(), optimizer: Adam(learningRate: 0.05),
                              configuration: TrainingConfiguration(epochs: 300, batchSize: 4, threads: 1), random: random)
        try trainer.fit(data)
        let result = trainer.evaluate(data)
        #expect(result.accuracy == 1)
        #expect(result.loss < 0.02)
    }

    @Test("A noisy linear regression reaches the noise floor")
    func linearRegression() throws {
        var random = RandomGenerator(seed: 8)
        let count = 2000
        var x = [Float](), y = [Float]()
        for _ in 0..<count {
            let (a, b) = (random.uniform(-1, 1), random.uniform(-1, 1))
            x += [a, b]
            y.append(3 * a - 2 * b + 0.5 + 0.1 * random.normal())   // noise variance 0.01
        }
        let data = Dataset(inputs: Tensor(shape: [count, 2], scalars: x), targets: Tensor(shape: [count, 1], scalars: y))
        let network = try Network(inputShape: [2], layers: [.dense(inputSize: 2, outputSize: 1)], random: &random)
        let trainer = Trainer(network: network, loss: MeanSquaredError(), optimizer: SGD(learningRate: 0.1, momentum: 0.9),
                              configuration: TrainingConfiguration(epochs: 20, batchSize: 32,
                                                                   schedule: .cosine(warmupEpochs: 0, minimumFactor: 0),
                                                                   threads: 1), random: random)
        try trainer.fit(data)
        let mse = trainer.evaluate(data).loss
        // The floor is the least-squares fit's MSE (normal equations, in Double): no model of this
        // form can do better on these samples.
        var gram = [[Double]](repeating: [0, 0, 0], count: 3), moment = [0.0, 0.0, 0.0]
        for i in 0..<count {
            let features = [Double(x[2 * i]), Double(x[2 * i + 1]), 1]
            for r in 0..<3 {
                moment[r] += features[r] * Double(y[i])
                for c in 0..<3 { gram[r][c] += features[r] * features[c] }
            }
        }
        let solution = solve3(gram, moment)
        let floor = (0..<count).reduce(0.0) { sum, i in
            let residual = solution[0] * Double(x[2 * i]) + solution[1] * Double(x[2 * i + 1]) + solution[2] - Double(y[i])
            return sum + residual * residual
        } / Double(count)
        #expect(mse <= floor * 1.01, "MSE \(mse) is above the least-squares floor \(floor)")
        let weights = trainer.network.parameters[0].scalars, bias = trainer.network.parameters[1].scalars[0]
        #expect(abs(Double(weights[0]) - solution[0]) < 0.01 && abs(Double(weights[1]) - solution[1]) < 0.01
                    && abs(Double(bias) - solution[2]) < 0.01)
    }

    /// Solves a 3×3 linear system by Cramer's rule.
    private func solve3(_ m: [[Double]], _ b: [Double]) -> [Double] {
        func determinant(_ a: [[Double]]) -> Double {
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        }
        let d = determinant(m)
        return (0..<3).map { column in
            var replaced = m
            for row in 0..<3 { replaced[row][column] = b[row] }
            return determinant(replaced) / d
        }
    }

    @Test("A tiny conv net separates horizontal from vertical bars perfectly")
    func bars() throws {
        var random = RandomGenerator(seed: 9)
        func makeBars(_ count: Int) -> Dataset {
            var pixels = [Float](), labels = [Float]()
            for _ in 0..<count {
                let vertical = random.next() & 1 == 1
                let position = random.index(below: 8)
                var image = (0..<64).map { _ in 0.2 * random.uniform(0, 1) }
                for i in 0..<8 { image[vertical ? i * 8 + position : position * 8 + i] += 1 }
                pixels += image
                labels.append(vertical ? 1 : 0)
            }
            return Dataset(inputs: Tensor(shape: [count, 1, 8, 8], scalars: pixels), targets: Tensor(shape: [count], scalars: labels))
        }
        let (training, test) = (makeBars(256), makeBars(200))
        let network = try Network(inputShape: [1, 8, 8], layers: [
            .conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, stride: 1, padding: 1), .relu,
            .maxPool2d(kernelSize: 2, stride: 2), .flatten, .dense(inputSize: 64, outputSize: 2),
        ], random: &random)
        let trainer = Trainer(network: network, loss: SoftmaxCrossEntropy(), optimizer: Adam(learningRate: 0.01),
                              configuration: TrainingConfiguration(epochs: 15, batchSize: 16), random: random)
        try trainer.fit(training)
        #expect(trainer.evaluate(test).accuracy == 1)
    }

    /// A small conv net with dropout, trained for a few epochs from `seed`.
    private func trainedWeights(seed: UInt64, threads: Int = 2) throws -> Network.Weights {
        var random = RandomGenerator(seed: seed)
        // The second convolution's forward is Winograd's (9 input channels: more than a direct
        // convolution takes), its pooled gradients (weight and input) are summed per sample, the
        // first's weight gradient from the input gradient they pass back.
        let network = try Network(inputShape: [2, 6, 6], layers: [
            .conv2d(inputChannels: 2, outputChannels: 9, kernelSize: 3, stride: 1, padding: 1), .relu,
            .conv2d(inputChannels: 9, outputChannels: 4, kernelSize: 3, stride: 1, padding: 1), .relu,
            .maxPool2d(kernelSize: 2, stride: 2), .flatten, .dropout(rate: 0.3), .dense(inputSize: 36, outputSize: 3),
        ], random: &random)
        var dataRandom = RandomGenerator(seed: 1234)   // the data stays fixed across seeds
        let inputs = Tensor(shape: [40, 2, 6, 6], scalars: (0..<(40 * 72)).map { _ in dataRandom.uniform(-1, 1) })
        let targets = Tensor(shape: [40], scalars: (0..<40).map { Float($0 % 3) })
        let trainer = Trainer(network: network, loss: SoftmaxCrossEntropy(), optimizer: AdamW(learningRate: 0.01),
                              configuration: TrainingConfiguration(epochs: 3, batchSize: 8, threads: threads), random: random)
        try trainer.fit(Dataset(inputs: inputs, targets: targets))
        return trainer.network.weights
    }

    @Test("The same seed gives bit-identical weights; another seed gives others; threads do not matter")
    func determinism() throws {
        let first = try trainedWeights(seed: 42)
        #expect(first == (try trainedWeights(seed: 42)))
        #expect(first == (try trainedWeights(seed: 42, threads: 1)))
        #expect(first != (try trainedWeights(seed: 43)))
    }

    /// A 784-256-10 MLP at batch 64 (a step of ~3.9e7 multiply-adds, products of 2.6e7 flops):
    /// trained with the other thread awake through each step, its products split over both
    /// threads, which with sleeping workers they would not be.
    private func smallNetworkWeights(threads: Int) throws -> (weights: Network.Weights, awake: [Bool]) {
        var random = RandomGenerator(seed: 7)
        let network = try Network(inputShape: [784], layers: [
            .dense(inputSize: 784, outputSize: 256), .relu, .dropout(rate: 0.2), .dense(inputSize: 256, outputSize: 10),
        ], random: &random)
        var dataRandom = RandomGenerator(seed: 99)
        let inputs = Tensor(shape: [192, 784], scalars: (0..<(192 * 784)).map { _ in dataRandom.uniform(0, 1) })
        let targets = Tensor(shape: [192], scalars: (0..<192).map { Float($0 % 10) })
        let trainer = Trainer(network: network, loss: SoftmaxCrossEntropy(), optimizer: Adam(learningRate: 0.01),
                              configuration: TrainingConfiguration(epochs: 2, batchSize: 64, threads: threads), random: random)
        var awake: [Bool] = []
        trainer.augment = { _, _, _ in awake.append(Parallel.workersAreAwake) }
        try trainer.fit(Dataset(inputs: inputs, targets: targets))
        return (trainer.network.weights, awake)
    }

    @Test("A small network trains with the other threads awake through each step, to the one-thread weights")
    func awakeSteps() throws {
        // One call at a time per process keeps workers awake, and other tests run concurrently:
        // a step may find them taken, and (rarely) all six of a run: then the run is repeated.
        var (two, awake) = try smallNetworkWeights(threads: 2)
        for _ in 0..<20 where !awake.contains(true) { (two, awake) = try smallNetworkWeights(threads: 2) }
        #expect(awake.count == 6 && awake.contains(true))
        let (one, alone) = try smallNetworkWeights(threads: 1)
        #expect(alone == Array(repeating: false, count: 6))
        #expect(two == one)
    }

    @Test("A diverging run stops with a clear error and keeps finite weights")
    func divergence() throws {
        var random = RandomGenerator(seed: 10)
        let inputs = Tensor(shape: [64, 3], scalars: (0..<192).map { _ in random.uniform(-10, 10) })
        let targets = Tensor(shape: [64, 1], scalars: (0..<64).map { _ in random.uniform(-1000, 1000) })
        let network = try Network(inputShape: [3], layers: [.dense(inputSize: 3, outputSize: 16), .relu,
                                                            .dense(inputSize: 16, outputSize: 1)], random: &random)
        let trainer = Trainer(network: network, loss: MeanSquaredError(), optimizer: SGD(learningRate: 10),
                              configuration: TrainingConfiguration(epochs: 50, batchSize: 8), random: random)
        let error = #expect(throws: TrainingDivergedError.self) { try trainer.fit(Dataset(inputs: inputs, targets: targets)) }
        #expect(error?.description.contains("training diverged") == true)
        #expect(trainer.network.weights.isFinite)
    }

    @Test("Gradients accumulate across backward calls until zeroed")
    func accumulation() throws {
        var random = RandomGenerator(seed: 11)
        var network = try Network(inputShape: [1, 5, 5], layers: [
            .conv2d(inputChannels: 1, outputChannels: 2, kernelSize: 3, stride: 1, padding: 0), .relu, .flatten,
            .dense(inputSize: 18, outputSize: 3),
        ], random: &random)
        var context = ExecutionContext()
        var tape = Tape()
        let output = network.forward(uniformValues([3, 1, 5, 5], seed: 1), tape: &tape, context: &context)
        let gradient = uniformValues(output.shape, seed: 2)
        var gradients = network.makeGradients()
        network.backward(gradient, tape: tape, gradients: &gradients, context: context)
        let once = gradients
        network.backward(gradient, tape: tape, gradients: &gradients, context: context)
        for (index, (twice, single)) in zip(gradients, once).enumerated() {
            for (a, b) in zip(twice.scalars, single.scalars) {
                #expect(abs(a - 2 * b) <= 1e-6 * max(1, abs(b)), "\(network.parameterNames[index])")
            }
        }
        #expect(once.contains { $0.scalars.contains { $0 != 0 } })
        for index in gradients.indices { gradients[index].zero() }
        #expect(gradients.allSatisfy { $0.scalars.allSatisfy { $0 == 0 } })
    }

    @Test("Early stopping ends the run and restores the best epoch's weights")
    func earlyStopping() throws {
        var random = RandomGenerator(seed: 12)
        // Validation targets contradict training targets: the better the fit, the worse validation.
        let x = Tensor(shape: [64, 2], scalars: (0..<128).map { _ in random.uniform(-1, 1) })
        let y = Tensor(shape: [64, 1], scalars: (0..<64).map { x.scalars[2 * $0] - x.scalars[2 * $0 + 1] })
        let training = Dataset(inputs: x, targets: y)
        let validation = Dataset(inputs: x, targets: Tensor(shape: [64, 1], scalars: y.scalars.map { -$0 }))
        let network = try Network(inputShape: [2], layers: [.dense(inputSize: 2, outputSize: 1)], random: &random)
        let trainer = Trainer(network: network, loss: MeanSquaredError(), optimizer: SGD(learningRate: 0.05),
                              configuration: TrainingConfiguration(epochs: 40, batchSize: 8, earlyStoppingPatience: 3),
                              random: random)
        let summary = try trainer.fit(training, validation: validation)
        #expect(summary.stopReason == .earlyStopping)
        #expect(summary.epochsCompleted < 40)
        let best = summary.history.compactMap(\.validationLoss).min()!
        #expect(summary.bestEpoch == summary.history.first { $0.validationLoss == best }?.epoch)
        #expect(trainer.evaluate(validation).loss == best)
    }

    @Test("Resuming from saved trainer state, weights and optimizer state reproduces an uninterrupted run")
    func resume() throws {
        func makeTrainer(epochs: Int) throws -> Trainer {
            var random = RandomGenerator(seed: 5)
            let network = try Network(inputShape: [4], layers: [.dense(inputSize: 4, outputSize: 6), .relu, .dropout(rate: 0.2),
                                                                .dense(inputSize: 6, outputSize: 1)], random: &random)
            return Trainer(network: network, loss: MeanSquaredError(), optimizer: Adam(learningRate: 0.01),
                           configuration: TrainingConfiguration(epochs: epochs, batchSize: 5,
                                                                schedule: .cosine(warmupEpochs: 1, minimumFactor: 0.1)),
                           random: random)
        }
        var dataRandom = RandomGenerator(seed: 77)
        let data = Dataset(inputs: Tensor(shape: [23, 4], scalars: (0..<92).map { _ in dataRandom.uniform(-1, 1) }),
                           targets: Tensor(shape: [23, 1], scalars: (0..<23).map { _ in dataRandom.uniform(-1, 1) }))
        let straight = try makeTrainer(epochs: 4)
        var checkpoint: (weights: Network.Weights, optimizer: OptimizerState, state: TrainerState)?
        try straight.fit(data, onEpoch: { report in
            if report.epoch == 2 { checkpoint = (straight.network.weights, straight.optimizer.state, straight.state) }
        })
        let saved = try #require(checkpoint)

        let resumed = try makeTrainer(epochs: 4)
        resumed.network.setWeights(saved.weights)
        try resumed.optimizer.restoreState(saved.optimizer, for: resumed.network)
        resumed.state = saved.state
        let summary = try resumed.fit(data)
        #expect(summary.history.count == 4)
        #expect(resumed.network.weights == straight.network.weights)
    }
}
