import Testing
import Backprop

/// Every step's fast forward and backward against the naive reference beside it in the source,
/// on awkward shapes, every kernel path and 1 and 2 threads.
@Suite("Steps against their naive references")
struct StepReferenceTests {
    /// A one-step network of `layers` with random biases (initialisation leaves them at zero).
    private func network(_ inputShape: [Int], _ layers: [LayerSpec], seed: UInt64 = 7) throws -> Network {
        var random = RandomGenerator(seed: seed)
        var network = try Network(inputShape: inputShape, layers: layers, random: &random)
        var weights = network.weights
        for (index, name) in network.parameterNames.enumerated() where name.hasSuffix(".bias") {
            weights.parameters[index] = uniformValues(weights.parameters[index].shape, seed: seed + UInt64(index))
        }
        network.setWeights(weights)
        return network
    }

    /// A training forward and backward, returning the output, dInput and the parameter gradients.
    private func trainingPass(_ network: Network, _ input: Tensor, _ outputGradient: (Tensor) -> Tensor,
                              context: ExecutionContext) -> (output: Tensor, input: Tensor, gradients: [Tensor]) {
        var copy = network
        var context = context
        var tape = Tape()
        let output = copy.forward(input, tape: &tape, context: &context)
        var gradients = network.makeGradients()
        let dinp = copy.backward(outputGradient(output), tape: tape, gradients: &gradients, context: context,
                                 needsInputGradient: true)!
        return (output, dinp, gradients)
    }

    @Test("Convolution, with each epilogue, matches the direct formula forward and backward",
          arguments: supportedKernelPaths, [1, 2])
    func convolution(path: KernelPath, threads: Int) throws {
        let shapes: [(n: Int, c: Int, o: Int, h: Int, w: Int, k: Int, s: Int, p: Int)] = [
            (3, 2, 5, 7, 7, 3, 1, 1), (2, 3, 4, 9, 6, 5, 2, 2), (1, 1, 3, 8, 7, 2, 3, 0), (5, 4, 17, 13, 11, 3, 2, 1),
            (20, 1, 16, 10, 10, 3, 1, 1),
            // A pooled weight gradient reads each patch as k runs of k·c floats: runs of 96 (whole
            // 8- and 4-vector blocks) and of 60 (blocks, single vectors and a partial one).
            (2, 32, 6, 10, 9, 3, 1, 0), (2, 20, 5, 9, 8, 3, 1, 1),
            // Even output sides behind a 2×2 pool: training's forward is Winograd's.
            (3, 20, 5, 10, 8, 3, 1, 1),
        ]
        let context = ExecutionContext(threads: threads, kernels: path)
        for shape in shapes {
            let conv = LayerSpec.conv2d(inputChannels: shape.c, outputChannels: shape.o, kernelSize: shape.k,
                                        stride: shape.s, padding: shape.p)
            let outputSide = min(shape.h + 2 * shape.p - shape.k, shape.w + 2 * shape.p - shape.k) / shape.s + 1
            // Pooling windows 2×2, and 3×3 at stride 2 (overlapping: a position can be two
            // windows' maximum) where they fit.
            let epilogues: [(relu: Bool, pool: Int?)] = [(false, nil), (true, nil), (false, 2), (true, 2)]
                + (outputSide >= 3 ? [(true, 3)] : [])
            for (relu, pool) in epilogues {
                let layers = [conv] + (relu ? [.relu] : []) + (pool.map { [.maxPool2d(kernelSize: $0, stride: 2)] } ?? [])
                let network = try network([shape.c, shape.h, shape.w], layers)
                #expect(network.steps.count == 1)
                let input = uniformValues([shape.n, shape.c, shape.h, shape.w], seed: 9)
                let (weight, bias) = (network.parameters[0], network.parameters[1])
                // The reference: convolution, then ReLU, then pooling, each by its definition.
                let convolved = ConvolutionStep.referenceForward(input: input, weight: weight, bias: bias,
                                                                 stride: shape.s, padding: shape.p)
                let pooled = pool.map { MaxPoolStep.referenceForward(input: convolved, kernelSize: $0, stride: 2, relu: relu) }
                let expected = pooled?.output ?? (relu ? Tensor(shape: convolved.shape,
                                                                scalars: convolved.scalars.map { max(0, $0) }) : convolved)
                let label = "\(shape) relu \(relu) pool \(pool.map(String.init) ?? "none") \(path) T\(threads)"
                #expect(maxDifference(network.forward(input, context: context), expected) < 1e-4, "\(label)")

                let dout = uniformValues(expected.shape, seed: 10)
                let fast = trainingPass(network, input, { _ in dout }, context: context)
                // Inference takes Winograd's sums where it applies (then they differ by rounding),
                // and so does training behind a 2×2 pool (then both are Winograd's).
                let step = try #require(network.steps[0] as? ConvolutionStep)
                #expect(step.trainsByWinograd(height: shape.h, width: shape.w)
                            == (pool == 2 && shape.k == 3 && shape.s == 1 && shape.c > 8 && shape.h % 2 == 0 && shape.w % 2 == 0),
                        "\(label)")
                if step.trainsByWinograd(height: shape.h, width: shape.w) {
                    #expect(fast.output == network.forward(input, context: context), "training and inference differ: \(label)")
                } else if step.convolvesByWinograd(height: shape.h, width: shape.w) {
                    #expect(maxDifference(fast.output, network.forward(input, context: context)) < 1e-4, "\(label)")
                } else {
                    #expect(fast.output == network.forward(input, context: context), "training and inference differ: \(label)")
                }
                // dLoss/d(convolution output) by the definitions of pooling and ReLU.
                var dconv = dout
                if let pooled {
                    dconv = MaxPoolStep.referenceBackward(outputGradient: dout, output: pooled.output, argmax: pooled.argmax,
                                                          inputShape: convolved.shape, relu: relu)
                } else if relu {
                    dconv = Tensor(shape: dout.shape, scalars: zip(dout.scalars, convolved.scalars).map { $1 > 0 ? $0 : 0 })
                }
                let reference = ConvolutionStep.referenceBackward(outputGradient: dconv, input: input, weight: weight,
                                                                  stride: shape.s, padding: shape.p)
                #expect(maxDifference(fast.input, reference.input) < 1e-4, "dinput \(label)")
                #expect(maxDifference(fast.gradients[0], reference.weight) < 1e-3, "dweight \(label)")
                #expect(maxDifference(fast.gradients[1], reference.bias) < 1e-3, "dbias \(label)")
            }
        }
    }

    @Test("Convolution by Winograd (inference of 3×3 stride-1 layers) matches the direct formula",
          arguments: supportedKernelPaths, [1, 2])
    func winogradConvolution(path: KernelPath, threads: Int) throws {
        // Odd and even output sides, one tile, blocks that start inside a tile row (300 tiles),
        // channel counts that fill no vector, padding 0–2, and the MNIST CNN's second layer.
        let shapes: [(n: Int, c: Int, o: Int, h: Int, w: Int, p: Int)] = [
            (1, 9, 1, 3, 3, 0), (3, 9, 7, 8, 6, 0), (2, 12, 17, 9, 10, 1), (1, 33, 20, 20, 21, 2),
            (1, 10, 5, 30, 40, 1), (4, 32, 64, 26, 26, 0),
        ]
        let context = ExecutionContext(threads: threads, kernels: path)
        for shape in shapes {
            let conv = LayerSpec.conv2d(inputChannels: shape.c, outputChannels: shape.o, kernelSize: 3, stride: 1,
                                        padding: shape.p)
            let (oh, ow) = (shape.h + 2 * shape.p - 2, shape.w + 2 * shape.p - 2)
            for (relu, pool) in [(false, false), (true, false), (false, true), (true, true)] where !pool || min(oh, ow) >= 2 {
                let layers = [conv] + (relu ? [.relu] : []) + (pool ? [.maxPool2d(kernelSize: 2, stride: 2)] : [])
                let network = try network([shape.c, shape.h, shape.w], layers)
                let step = try #require(network.steps.first as? ConvolutionStep)
                // Pooling takes Winograd's path only when its windows are the tiles.
                #expect(step.convolvesByWinograd(height: shape.h, width: shape.w) == (!pool || (oh % 2 == 0 && ow % 2 == 0)))
                let input = uniformValues([shape.n, shape.c, shape.h, shape.w], seed: 11)
                let convolved = ConvolutionStep.referenceForward(input: input, weight: network.parameters[0],
                                                                 bias: network.parameters[1], stride: 1, padding: shape.p)
                let activated = relu ? Tensor(shape: convolved.shape, scalars: convolved.scalars.map { max(0, $0) }) : convolved
                let expected = pool ? MaxPoolStep.referenceForward(input: activated, kernelSize: 2, stride: 2).output : activated
                let label = "\(shape) relu \(relu) pool \(pool) \(path) T\(threads)"
                let output = network.forward(input, context: context)
                try #require(output.shape == expected.shape, "\(label)")
                // Sums of up to 297 products of values in [-1, 1]: rounding differs, not the result.
                #expect(maxDifference(output, expected) < 1e-4, "\(label)")
                // One sample at a time (its tiles split between threads) gives each sample's answer.
                let one = network.forward(Tensor(shape: [1, shape.c, shape.h, shape.w],
                                                 scalars: Array(input.scalars.prefix(shape.c * shape.h * shape.w))),
                                          context: context)
                #expect(one.scalars == Array(output.scalars.prefix(one.count)), "one sample: \(label)")
            }
        }
    }

    @Test("Training by Winograd finds each pooled maximum's position, the first of equal ones",
          arguments: supportedKernelPaths, [1, 2])
    func winogradTrainingMaxima(path: KernelPath, threads: Int) throws {
        let context = ExecutionContext(threads: threads, kernels: path)
        // Two samples of 6×10 (15 tiles each: one block), and one of 18×20 (90 tiles: on two
        // threads, two blocks, the second starting inside a tile row).
        for (n, h, w) in [(2, 6, 10), (1, 18, 20)] {
            let layers: [LayerSpec] = [.conv2d(inputChannels: 12, outputChannels: 5, kernelSize: 3, stride: 1, padding: 1),
                                       .relu, .maxPool2d(kernelSize: 2, stride: 2)]
            var network = try network([12, h, w], layers)
            let step = try #require(network.steps[0] as? ConvolutionStep)
            try #require(step.trainsByWinograd(height: h, width: w))
            let input = uniformValues([n, 12, h, w], seed: 21)
            let dout = uniformValues([n, 5, h / 2, w / 2], seed: 22)
            // Each output channel a constant, 0.5 for channels 0–2 and −0.5 (blocked by the ReLU)
            // for the others: every window ties, and its first position must take the gradient.
            // Then random weights, whose maxima fall on all four positions of a window.
            var constant = network.weights
            constant.parameters[0] = Tensor(shape: constant.parameters[0].shape)
            constant.parameters[1] = Tensor(shape: [5], scalars: [0.5, 0.5, 0.5, -0.5, -0.5])
            for weights in [constant, network.weights] {
                network.setWeights(weights)
                let (weight, bias) = (weights.parameters[0], weights.parameters[1])
                let convolved = ConvolutionStep.referenceForward(input: input, weight: weight, bias: bias, stride: 1, padding: 1)
                let pooled = MaxPoolStep.referenceForward(input: convolved, kernelSize: 2, stride: 2, relu: true)
                let dconv = MaxPoolStep.referenceBackward(outputGradient: dout, output: pooled.output, argmax: pooled.argmax,
                                                          inputShape: convolved.shape, relu: true)
                let reference = ConvolutionStep.referenceBackward(outputGradient: dconv, input: input, weight: weight,
                                                                  stride: 1, padding: 1)
                let fast = trainingPass(network, input, { _ in dout }, context: context)
                let label = "\(weights.parameters[0].scalars.allSatisfy { $0 == 0 } ? "ties" : "random") \(n)×\(h)×\(w) \(path) T\(threads)"
                #expect(maxDifference(fast.output, pooled.output) < 1e-4, "\(label)")
                #expect(maxDifference(fast.gradients[0], reference.weight) < 1e-4, "dweight \(label)")
                #expect(maxDifference(fast.gradients[1], reference.bias) < 1e-4, "dbias \(label)")
                #expect(maxDifference(fast.input, reference.input) < 1e-4, "dinput \(label)")
            }
        }
    }

    @Test("Dense, with and without its ReLU epilogue, matches the definition forward and backward",
          arguments: supportedKernelPaths, [1, 2])
    func dense(path: KernelPath, threads: Int) throws {
        let context = ExecutionContext(threads: threads, kernels: path)
        for (n, inputs, outputs) in [(1, 1, 1), (3, 17, 7), (13, 33, 5), (64, 300, 129)] {
            for relu in [false, true] {
                let network = try network([inputs], [.dense(inputSize: inputs, outputSize: outputs)] + (relu ? [.relu] : []))
                #expect(network.steps.count == 1)
                let input = uniformValues([n, inputs], seed: 4)
                let linear = DenseStep.referenceForward(input: input, weight: network.parameters[0], bias: network.parameters[1])
                let expected = relu ? Tensor(shape: linear.shape, scalars: linear.scalars.map { max(0, $0) }) : linear
                let label = "\(n)×\(inputs)→\(outputs) relu \(relu) \(path) T\(threads)"
                #expect(maxDifference(network.forward(input, context: context), expected) < 1e-4, "\(label)")
                let dout = uniformValues(expected.shape, seed: 5)
                let fast = trainingPass(network, input, { _ in dout }, context: context)
                let dlinear = relu ? Tensor(shape: dout.shape, scalars: zip(dout.scalars, linear.scalars).map { $1 > 0 ? $0 : 0 })
                                   : dout
                let reference = DenseStep.referenceBackward(outputGradient: dlinear, input: input,
                                                            weight: network.parameters[0])
                #expect(maxDifference(fast.input, reference.input) < 1e-4, "dinput \(label)")
                #expect(maxDifference(fast.gradients[0], reference.weight) < 1e-4, "dweight \(label)")
                #expect(maxDifference(fast.gradients[1], reference.bias) < 1e-4, "dbias \(label)")
            }
        }
    }

    @Test("Max-pooling on its own matches the definition, ties to the first maximum", arguments: [1, 2])
    func maxPool(threads: Int) throws {
        let context = ExecutionContext(threads: threads)
        for (n, c, h, w, k, s) in [(1, 1, 3, 4, 2, 2), (2, 3, 7, 7, 2, 2), (3, 2, 9, 8, 3, 2), (2, 70, 30, 31, 2, 2),
                                   (1, 2, 5, 5, 2, 1)] {
            let network = try network([c, h, w], [.maxPool2d(kernelSize: k, stride: s)])
            var random = RandomGenerator(seed: 3)
            let input = Tensor(shape: [n, c, h, w], scalars: (0..<(n * c * h * w)).map { _ in Float(random.index(below: 5)) })
            let reference = MaxPoolStep.referenceForward(input: input, kernelSize: k, stride: s)
            let dout = uniformValues(reference.output.shape, seed: 6)
            let fast = trainingPass(network, input, { _ in dout }, context: context)
            #expect(fast.output == reference.output)
            #expect(network.forward(input, context: context) == reference.output)
            let expected = MaxPoolStep.referenceBackward(outputGradient: dout, output: reference.output,
                                                         argmax: reference.argmax, inputShape: input.shape)
            #expect(maxDifference(fast.input, expected) < 1e-6, "\(n)×\(c)×\(h)×\(w) k\(k) s\(s)")
        }
        // A worked example: the window maxima, and the gradient back at their positions.
        let small = try network([1, 3, 4], [.maxPool2d(kernelSize: 2, stride: 2)])
        let input = Tensor(shape: [1, 1, 3, 4], scalars: [1, 5, 2, 0, 3, 4, 8, 7, 9, 9, 9, 9])
        let pass = trainingPass(small, input, { _ in Tensor(shape: [1, 1, 1, 2], scalars: [10, 20]) }, context: context)
        #expect(pass.output.scalars == [5, 8])
        #expect(pass.input.scalars == [0, 10, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0])
    }

    @Test("Activations match their definitions and derivatives")
    func activations() throws {
        let input = awayFromZero([4, 37], seed: 8)
        let dout = uniformValues([4, 37], seed: 9)
        for (spec, function) in [(LayerSpec.relu, ActivationStep.Function.relu), (.leakyRelu(slope: 0.1), .leakyRelu(slope: 0.1)),
                                 (.sigmoid, .sigmoid), (.tanh, .tanh)] {
            let network = try network([37], [spec])
            let pass = trainingPass(network, input, { _ in dout }, context: ExecutionContext())
            let expected = Tensor(shape: input.shape, scalars: input.scalars.map(function.reference))
            let expectedGradient = Tensor(shape: input.shape, scalars: zip(dout.scalars, input.scalars).map {
                $0 * function.referenceDerivative($1)
            })
            #expect(maxDifference(pass.output, expected) < 1e-6, "\(spec)")
            #expect(maxDifference(pass.input, expectedGradient) < 1e-6, "\(spec)")
        }
    }

    @Test("BatchNorm normalises with batch statistics in training, updates running statistics as PyTorch does, and uses them at inference",
          arguments: [[6, 5], [3, 4, 5, 6], [2, 3, 17, 1]])
    func batchNorm(shape: [Int]) throws {
        let features = shape[1]
        var network = try network(Array(shape.dropFirst()), [.batchNorm(features: features, momentum: 0.1, epsilon: 1e-5)])
        var weights = network.weights
        weights.parameters[0] = uniformValues([features], seed: 1)
        network.setWeights(weights)
        let input = Tensor(shape: shape, scalars: uniformValues(shape, seed: 2).scalars.map { 3 * $0 + 1.5 })
        let reference = BatchNormStep.referenceForward(input: input, weight: network.parameters[0],
                                                       bias: network.parameters[1], epsilon: 1e-5)
        var tape = Tape()
        var context = ExecutionContext()
        let before = network
        let output = network.forward(input, tape: &tape, context: &context)
        #expect(maxDifference(output, reference.output) < 1e-5)
        // running ← 0.9·running + 0.1·batch, with the unbiased variance (PyTorch's rule).
        let m = Double(input.count / features)
        for f in 0..<features {
            #expect(abs(Double(network.buffers[0].scalars[f]) - 0.1 * reference.mean[f]) < 1e-6)
            #expect(abs(Double(network.buffers[1].scalars[f]) - (0.9 + 0.1 * reference.variance[f] * m / (m - 1))) < 1e-5)
        }
        #expect(network.parameters == before.parameters)
        // Inference: (x − running_mean)/√(running_var + ε)·γ + β, not the batch statistics.
        let inference = network.forward(input, context: context)
        let s = input.count / (shape[0] * features)
        for (j, value) in input.scalars.enumerated() {
            let f = (j / s) % features
            let expected = (Double(value) - Double(network.buffers[0].scalars[f]))
                / (Double(network.buffers[1].scalars[f]) + 1e-5).squareRoot() * Double(network.parameters[0].scalars[f])
                + Double(network.parameters[1].scalars[f])
            #expect(abs(Double(inference.scalars[j]) - expected) < 1e-5, "element \(j)")
        }
        #expect(maxDifference(inference, output) > 0.1)
    }

    @Test("Dropout drops about its rate, scales survivors by 1/(1 − rate), ignores the thread count, and passes through at inference")
    func dropoutStatistics() throws {
        let rate: Float = 0.3
        let count = 100_003   // not a multiple of the 4-lane draws or of the parallel chunks
        let input = Tensor(shape: [1, count], scalars: (0..<count).map { Float($0 % 97) + 1 })
        let network = try network([count], [.dropout(rate: rate)])
        func run(threads: Int) -> Tensor {
            var copy = network
            var tape = Tape()
            var context = ExecutionContext(threads: threads, random: RandomGenerator(seed: 5))
            return copy.forward(input, tape: &tape, context: &context)
        }
        let output = run(threads: 2)
        let dropped = output.scalars.filter { $0 == 0 }.count
        #expect(abs(Double(dropped) / Double(count) - Double(rate)) < 0.01, "dropped \(dropped) of \(count)")
        let scale = 1 / (1 - rate)
        #expect(zip(input.scalars, output.scalars).allSatisfy { $1 == 0 || $1 == $0 * scale })
        #expect(run(threads: 1).scalars == output.scalars)
        #expect(network.forward(input).scalars == input.scalars)
    }

    @Test("A data-parallel share's dropout equals the matching rows of the whole batch's, shares starting mid-draw and mid-chunk")
    func dropoutShares() throws {
        let (perRow, rows) = (7, 5_000)   // 35,000 elements: three 16,384-element chunks; rows start at any lane of a draw
        let input = Tensor(shape: [rows, perRow], scalars: (0..<(rows * perRow)).map { Float($0 % 89) + 1 })
        let network = try network([perRow], [.dropout(rate: 0.4)])
        func run(_ rowRange: Range<Int>, share: BatchShare?) -> [Float] {
            var copy = network
            var tape = Tape()
            var context = ExecutionContext(threads: 2, random: RandomGenerator(seed: 17))
            context.share = share
            return copy.forward(input.slice(rowRange), tape: &tape, context: &context).scalars
        }
        let whole = run(0..<rows, share: nil)
        for rowRange in [0..<1, 1..<2, 3..<700, 2340..<2341, 2341..<4999, 4990..<5000, 1..<5000] {
            let share = run(rowRange, share: BatchShare(offset: rowRange.lowerBound, total: rows))
            #expect(share == Array(whole[(rowRange.lowerBound * perRow)..<(rowRange.upperBound * perRow)]),
                    "rows \(rowRange)")
        }
    }
}
