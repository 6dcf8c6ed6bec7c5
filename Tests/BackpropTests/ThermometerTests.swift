import Testing
import Backprop
import MatrixKernels

/// The table path of a dense first layer on piecewise-linear ("thermometer") input columns, and
/// the gather kernel under it, against the dense product and a naive reference.
@Suite("Thermometer input columns")
struct ThermometerTests {
    /// 3 dense columns around groups of 1, 4, 2 and 7 columns: 17 inputs.
    static let columns = ThermometerColumns(groups: [1..<2, 3..<7, 7..<9, 10..<17])
    static let width = 17

    /// Rows that fit `columns`: per group all zeros, all ones, or ones then a fraction (drawn), and
    /// uniform values in the dense columns.
    static func fittingInputs(rows: Int, seed: UInt64) -> Tensor {
        var random = RandomGenerator(seed: seed)
        var scalars = [Float](repeating: 0, count: rows * width)
        for r in 0..<rows {
            for column in [0, 2, 9] { scalars[r * width + column] = random.uniform(-2, 2) }
            for group in columns.groups {
                let ones = Int(random.next() % UInt64(group.count + 1))
                for j in 0..<ones { scalars[r * width + group.lowerBound + j] = 1 }
                if ones < group.count, random.next() % 3 != 0 {
                    scalars[r * width + group.lowerBound + ones] = random.uniform(0, 1)
                }
            }
        }
        return Tensor(shape: [rows, width], scalars: scalars)
    }

    @Test("The gather kernel matches a naive product on awkward widths, on every path, alone or split, adding or overwriting",
          arguments: supportedKernelPaths, [1, 3, 16, 17, 33, 64, 130])
    func gatherMatchesReference(kernels: KernelPath, width: Int) {
        var random = RandomGenerator(seed: UInt64(width))
        let (rows, tableRows) = (9, 11)
        // Rows with 0 to 6 terms, repeated table rows included.
        var starts: [Int32] = [0], indices: [Int32] = [], coefficients: [Float] = []
        for _ in 0..<rows {
            let terms = Int(random.next() % 7)
            for _ in 0..<terms {
                indices.append(Int32(random.next() % UInt64(tableRows)))
                coefficients.append(random.uniform(-1, 1))
            }
            starts.append(Int32(indices.count))
        }
        let table = (0..<(tableRows * width)).map { _ in random.uniform(-1, 1) }
        let initial = (0..<(rows * width)).map { _ in random.uniform(-1, 1) }
        var products = [Double](repeating: 0, count: rows * width)
        for r in 0..<rows {
            for t in Int(starts[r])..<Int(starts[r + 1]) {
                for c in 0..<width { products[r * width + c] += Double(coefficients[t]) * Double(table[Int(indices[t]) * width + c]) }
            }
        }
        func run(threads: Int, accumulate: Bool = true) -> [Float] {
            // Not accumulating, the output's NaNs must not be read.
            var output = accumulate ? initial : [Float](repeating: .nan, count: initial.count)
            starts.withUnsafeBufferPointer { s in
                indices.withUnsafeBufferPointer { i in
                    coefficients.withUnsafeBufferPointer { k in
                        table.withUnsafeBufferPointer { t in
                            output.withUnsafeMutableBufferPointer { o in
                                kernels.gather(GatherProduct.SparseRows(rows: rows, starts: s.baseAddress!, ends: s.baseAddress! + 1,
                                                                        indices: i.baseAddress!, coefficients: k.baseAddress!),
                                               table: t.baseAddress!, tableStride: width, output: o.baseAddress!,
                                               outputStride: width, width: width, threads: threads, accumulate: accumulate)
                            }
                        }
                    }
                }
            }
            return output
        }
        let (alone, split) = (run(threads: 1), run(threads: 2))
        #expect(alone == split)
        let worst = zip(alone, zip(initial, products)).map { abs(Double($0) - (Double($1.0) + $1.1)) }.max() ?? 0
        #expect(worst < 1e-5, "largest difference \(worst)")
        let (overwritten, overwrittenSplit) = (run(threads: 1, accumulate: false), run(threads: 2, accumulate: false))
        #expect(overwritten == overwrittenSplit)
        let worstOverwritten = zip(overwritten, products).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worstOverwritten < 1e-5, "largest difference \(worstOverwritten)")
    }

    @Test("A dense first layer on thermometer columns computes what the dense product does, forward and backward",
          arguments: supportedKernelPaths, [1, 7, 17, 130])
    func tablePathMatchesDenseProduct(kernels: KernelPath, outputs: Int) throws {
        var random = RandomGenerator(seed: 5)
        let network = try Network(inputShape: [Self.width], layers: [
            .dense(inputSize: Self.width, outputSize: outputs), .relu, .dense(inputSize: outputs, outputSize: 3),
        ], random: &random)
        let input = Self.fittingInputs(rows: 37, seed: 9)
        #expect(Self.columns.matches(input))
        let outputGradient = uniformValues([37, 3], seed: 4)

        func pass(_ columns: ThermometerColumns?, threads: Int) -> (output: Tensor, inference: Tensor, gradients: [Tensor]) {
            var context = ExecutionContext(threads: threads, kernels: kernels)
            context.thermometerInput = columns
            var (trained, tape, gradients) = (network, Tape(), network.makeGradients())
            let output = trained.forward(input, tape: &tape, context: &context)
            trained.backward(outputGradient, tape: tape, gradients: &gradients, context: context)
            return (output, network.forward(input, context: context), gradients)
        }
        let dense = pass(nil, threads: 1)
        let table = pass(Self.columns, threads: 1)
        #expect(maxDifference(table.output, dense.output) < 1e-5)
        #expect(maxDifference(table.inference, dense.inference) < 1e-5)
        for (a, b) in zip(table.gradients, dense.gradients) { #expect(maxDifference(a, b) < 1e-4) }
        // The first layer's weight gradient really came from the table path: not bit-identical.
        #expect(table.gradients[0] != dense.gradients[0] || outputs == 1)
        // Bit for bit the same on two threads.
        let split = pass(Self.columns, threads: 2)
        #expect(split.output == table.output && split.gradients == table.gradients)
    }

    @Test("The table path's weight gradients match finite differences", arguments: supportedKernelPaths)
    func finiteDifferences(kernels: KernelPath) throws {
        var random = RandomGenerator(seed: 8)
        let network = try Network(inputShape: [Self.width], layers: [.dense(inputSize: Self.width, outputSize: 6), .tanh],
                                  random: &random)
        let input = Self.fittingInputs(rows: 5, seed: 3)
        let (mismatches, checked) = GradientChecker().check(network, input: input, kernels: kernels,
                                                            thermometerInput: Self.columns)
        #expect(checked >= 40)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("Training on terms encoded once for the whole set gives the weights of encoding every batch, bit for bit")
    func termsEncodedOnce() throws {
        let inputs = Self.fittingInputs(rows: 50, seed: 4)
        let targets = Tensor(shape: [50, 1], scalars: (0..<50).map { Float($0 % 7) / 7 })
        func trained(encodingEveryBatch: Bool) throws -> Network.Weights {
            var random = RandomGenerator(seed: 9)
            let network = try Network(inputShape: [Self.width], layers: [.dense(inputSize: Self.width, outputSize: 8), .relu,
                                                                          .dense(inputSize: 8, outputSize: 1)], random: &random)
            var configuration = TrainingConfiguration(epochs: 3, batchSize: 16)
            configuration.thermometerInput = Self.columns
            configuration.threads = 1
            let trainer = Trainer(network: network, loss: MeanSquaredError(), optimizer: Adam(), configuration: configuration,
                                  random: RandomGenerator(seed: 3))
            // An augmentation, even one that changes nothing, makes the trainer encode batch by batch.
            if encodingEveryBatch { trainer.augment = { _, _, _ in } }
            try trainer.fit(Dataset(inputs: inputs, targets: targets))
            return trainer.network.weights
        }
        #expect(try trained(encodingEveryBatch: false) == trained(encodingEveryBatch: true))
    }

    @Test("Each epoch's validation loss, from the validation set's terms encoded once, is what evaluating it gives")
    func validationTermsEncodedOnce() throws {
        let inputs = Self.fittingInputs(rows: 60, seed: 5)
        let targets = Tensor(shape: [60, 1], scalars: (0..<60).map { Float($0 % 5) / 5 })
        let validation = Dataset(inputs: inputs.slice(40..<60), targets: targets.slice(40..<60))
        var random = RandomGenerator(seed: 2)
        let network = try Network(inputShape: [Self.width], layers: [.dense(inputSize: Self.width, outputSize: 8), .relu,
                                                                      .dense(inputSize: 8, outputSize: 1)], random: &random)
        var configuration = TrainingConfiguration(epochs: 2, batchSize: 16, restoreBestWeights: false)
        configuration.thermometerInput = Self.columns
        configuration.evaluationBatchSize = 7   // 7, 7 and 6 rows: the batches select their rows of the terms
        let trainer = Trainer(network: network, loss: MeanSquaredError(), optimizer: Adam(), configuration: configuration,
                              random: RandomGenerator(seed: 3))
        let summary = try trainer.fit(Dataset(inputs: inputs.slice(0..<40), targets: targets.slice(0..<40)),
                                      validation: validation)
        let reported = try #require(summary.history.last?.validationLoss)
        #expect(reported == trainer.evaluate(validation).loss)
        // (Which can fail: evaluating other inputs gives another loss.)
        #expect(reported != trainer.evaluate(Dataset(inputs: Self.fittingInputs(rows: 20, seed: 6), targets: validation.targets)).loss)
    }

    @Test("A batch with a row that does not fit takes the dense product, bit for bit")
    func rowsThatDoNotFit() throws {
        var random = RandomGenerator(seed: 6)
        let network = try Network(inputShape: [Self.width], layers: [.dense(inputSize: Self.width, outputSize: 9)],
                                  random: &random)
        let fitting = Self.fittingInputs(rows: 4, seed: 2)
        // Row 2's group 3..<7 as: a rise after a fraction, a value above 1, a negative value, two
        // fractions, a one after zeros, NaN.
        let patterns: [[Float]] = [[0.5, 1, 0, 0], [1, 1.5, 0, 0], [1, -0.25, 0, 0], [0.5, 0.25, 0, 0], [1, 0, 0, 1],
                                   [1, .nan, 0, 0]]
        for pattern in patterns {
            var input = fitting
            for (j, value) in pattern.enumerated() { input.scalars[2 * Self.width + 3 + j] = value }
            #expect(!Self.columns.matches(input), "\(pattern)")
            var context = ExecutionContext(threads: 1)
            context.thermometerInput = Self.columns
            let (withColumns, without) = (network.forward(input, context: context), network.forward(input, context: ExecutionContext(threads: 1)))
            #expect(withColumns.scalars.elementsEqual(without.scalars) { $0 == $1 || ($0.isNaN && $1.isNaN) })
        }
    }

    @Test("Only a network's first layer reads the columns: a later dense layer of the same width multiplies as usual")
    func onlyTheFirstLayer() throws {
        var random = RandomGenerator(seed: 7)
        let network = try Network(inputShape: [4], layers: [
            .dense(inputSize: 4, outputSize: Self.width), .dense(inputSize: Self.width, outputSize: 2),
        ], random: &random)
        let input = uniformValues([3, 4], seed: 1)
        var context = ExecutionContext(threads: 1)
        context.thermometerInput = ThermometerColumns(groups: [0..<4])
        // The input does not fit [0..<4], so both layers run dense either way: same bits.
        #expect(network.forward(input, context: context) == network.forward(input, context: ExecutionContext(threads: 1)))
        var hidden = context
        hidden.thermometerInput = Self.columns
        #expect(network.forward(input, context: hidden) == network.forward(input, context: ExecutionContext(threads: 1)))
    }
}
