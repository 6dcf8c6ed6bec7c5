import Testing
import Backprop

/// Every layer and loss against central finite differences, on batches above 1 and odd shapes.
@Suite("Finite-difference gradient checks")
struct GradientCheckTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        /// With the batch first.
        let inputShape: [Int]
        let inputKind: InputKind
        let layers: [LayerSpec]
        var seed: UInt64 = 11
        var testDescription: String { name }
    }

    enum InputKind { case uniform, awayFromZero, distinct }

    static func conv(_ c: Int, _ o: Int, _ k: Int, stride: Int = 1, padding: Int = 0) -> LayerSpec {
        .conv2d(inputChannels: c, outputChannels: o, kernelSize: k, stride: stride, padding: padding)
    }

    static let cases: [Case] = [
        Case(name: "Dense 5→3, batch 3", inputShape: [3, 5], inputKind: .uniform, layers: [.dense(inputSize: 5, outputSize: 3)]),
        Case(name: "Dense 17→7, batch 4", inputShape: [4, 17], inputKind: .uniform, layers: [.dense(inputSize: 17, outputSize: 7)],
             seed: 12),
        Case(name: "Conv2D 2→3, 3×3, 7×7, batch 2", inputShape: [2, 2, 7, 7], inputKind: .uniform, layers: [conv(2, 3, 3)],
             seed: 13),
        Case(name: "Conv2D 3→2, 3×3, stride 2, padding 1, 7×7, batch 3", inputShape: [3, 3, 7, 7], inputKind: .uniform,
             layers: [conv(3, 2, 3, stride: 2, padding: 1)], seed: 14),
        Case(name: "Conv2D 2→5, 5×5, padding 2, 9×6, batch 2", inputShape: [2, 2, 9, 6], inputKind: .uniform,
             layers: [conv(2, 5, 5, padding: 2)], seed: 15),
        Case(name: "Conv2D 1→4, 2×2, stride 3, 8×7, batch 3", inputShape: [3, 1, 8, 7], inputKind: .uniform,
             layers: [conv(1, 4, 2, stride: 3)], seed: 16),
        Case(name: "Conv2D 3→2, batch 20 (several gradient groups)", inputShape: [20, 3, 5, 5], inputKind: .uniform,
             layers: [conv(3, 2, 3, padding: 1)], seed: 17),
        Case(name: "Conv2D 1→16, 3×3, padding 1, 6×5, batch 3 (weight gradient computed transposed)",
             inputShape: [3, 1, 6, 5], inputKind: .uniform, layers: [conv(1, 16, 3, padding: 1)], seed: 18),
        Case(name: "MaxPool2D 2×2, 7×7, 2 channels, batch 2", inputShape: [2, 2, 7, 7], inputKind: .distinct,
             layers: [.maxPool2d(kernelSize: 2, stride: 2)]),
        Case(name: "MaxPool2D 2×2, 8×10 (windows tile the plane), batch 2", inputShape: [2, 3, 8, 10], inputKind: .distinct,
             layers: [.maxPool2d(kernelSize: 2, stride: 2)]),
        Case(name: "MaxPool2D 3×3 stride 2, 7×7, batch 3", inputShape: [3, 3, 7, 7], inputKind: .distinct,
             layers: [.maxPool2d(kernelSize: 3, stride: 2)]),
        Case(name: "Flatten", inputShape: [3, 2, 3, 5], inputKind: .uniform, layers: [.flatten]),
        Case(name: "Dropout 0.3 (training)", inputShape: [3, 35], inputKind: .uniform, layers: [.dropout(rate: 0.3)]),
        Case(name: "ReLU", inputShape: [3, 5], inputKind: .awayFromZero, layers: [.relu]),
        Case(name: "LeakyReLU 0.1", inputShape: [3, 2, 7, 7], inputKind: .awayFromZero, layers: [.leakyRelu(slope: 0.1)]),
        Case(name: "Sigmoid", inputShape: [3, 5], inputKind: .uniform, layers: [.sigmoid]),
        Case(name: "Tanh", inputShape: [3, 5], inputKind: .uniform, layers: [.tanh]),
        Case(name: "BatchNorm of dense features (training), batch 6", inputShape: [6, 5], inputKind: .uniform,
             layers: [.dense(inputSize: 5, outputSize: 4), .batchNorm(features: 4)], seed: 22),
        Case(name: "BatchNorm of conv channels (training), 5×4, batch 3", inputShape: [3, 2, 5, 4], inputKind: .uniform,
             layers: [conv(2, 3, 3, padding: 1), .batchNorm(features: 3)], seed: 23),
        Case(name: "BatchNorm after a stride-2 conv with 17 positions per channel, batch 2", inputShape: [2, 1, 9, 7],
             inputKind: .uniform, layers: [conv(1, 2, 3, stride: 2, padding: 1), .batchNorm(features: 2), .tanh], seed: 24),
    ]

    @Test(arguments: cases, supportedKernelPaths)
    func layerGradientsMatchFiniteDifferences(_ testCase: Case, kernels: KernelPath) throws {
        var random = RandomGenerator(seed: testCase.seed)
        let network = try Network(inputShape: Array(testCase.inputShape.dropFirst()), layers: testCase.layers,
                                  random: &random)
        // BatchNorm starts as the identity (γ 1, β 0); random γ and β exercise their gradients fully.
        var weights = network.weights
        for (layer, spec) in testCase.layers.enumerated() {
            guard case .batchNorm = spec else { continue }
            for name in ["weight", "bias"] {
                let index = network.parameterNames.firstIndex(of: "layers.\(layer).\(name)")!
                weights.parameters[index] = uniformValues(weights.parameters[index].shape, seed: UInt64(index))
            }
        }
        var prepared = network
        prepared.setWeights(weights)
        let input: Tensor = switch testCase.inputKind {
        case .uniform: uniformValues(testCase.inputShape, seed: 3)
        case .awayFromZero: awayFromZero(testCase.inputShape, seed: 3)
        case .distinct: distinctValues(testCase.inputShape, seed: 3)
        }
        let (mismatches, checked) = GradientChecker().check(prepared, input: input, kernels: kernels)
        #expect(checked >= min(input.count, 40))
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("A pooled convolution trained through Winograd's forward matches finite differences",
          arguments: supportedKernelPaths)
    func winogradTraining(kernels: KernelPath) throws {
        var random = RandomGenerator(seed: 19)
        let network = try Network(inputShape: [10, 6, 4], layers: [
            .conv2d(inputChannels: 10, outputChannels: 3, kernelSize: 3, stride: 1, padding: 1),
            .maxPool2d(kernelSize: 2, stride: 2),
        ], random: &random)
        try #require((network.steps.first as? ConvolutionStep)?.trainsByWinograd(height: 6, width: 4) == true)
        // A step of 1e-2 moves a weight's outputs by up to 1e-2, enough to change which of a
        // window's four values is largest in a few of its 36 windows (it did, on this path and, with
        // 8 input channels, on the direct convolution's alike); 1e-3 does not, and the objective,
        // summed in Double, is still exact enough.
        // No ReLU: a pooled value within 1e-3 of 0 made one weight's difference quotient straddle
        // its kink (the step reference tests check the ReLU epilogue against the definition).
        let checker = GradientChecker(epsilon: 1e-3)
        let (mismatches, checked) = checker.check(network, input: uniformValues([2, 10, 6, 4], seed: 3), kernels: kernels)
        #expect(checked >= 40)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("A whole conv network's gradients match finite differences", arguments: supportedKernelPaths)
    func wholeNetwork(kernels: KernelPath) throws {
        var random = RandomGenerator(seed: 21)
        let network = try Network(inputShape: [2, 7, 7], layers: [
            .conv2d(inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 1, padding: 1), .tanh,
            .maxPool2d(kernelSize: 2, stride: 2), .flatten, .dense(inputSize: 27, outputSize: 4), .sigmoid,
        ], random: &random)
        let input = uniformValues([3, 2, 7, 7], seed: 4)
        let (mismatches, _) = GradientChecker().check(network, input: input, kernels: kernels)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("Mean squared error gradient matches finite differences")
    func meanSquaredError() {
        checkLoss(MeanSquaredError(), prediction: uniformValues([4, 3], seed: 5), target: uniformValues([4, 3], seed: 6))
    }

    @Test("Softmax cross-entropy gradient matches finite differences")
    func softmaxCrossEntropy() {
        let target = Tensor(shape: [5], scalars: [0, 3, 1, 3, 2])
        checkLoss(SoftmaxCrossEntropy(), prediction: uniformValues([5, 4], seed: 7), target: target)
    }

    @Test("Softmax cross-entropy is stable for huge logits")
    func crossEntropyStability() {
        let logits = Tensor(shape: [2, 3], scalars: [1000, 0, -1000, -1000, 1000, 999])
        let (value, gradient) = SoftmaxCrossEntropy().evaluate(prediction: logits, target: Tensor(shape: [2], scalars: [0, 2]))
        // Row 1: label 0 has all the mass (loss 0). Row 2: log(e^1000 + e^999) - 999 = 1 + log(1 + e^-1).
        let expected = (0 + (1 + (1 + (-1.0).exponential).logarithm)) / 2
        #expect(abs(Double(value) - expected) < 1e-4)
        #expect(gradient.isFinite)
    }

    private func checkLoss(_ loss: any Loss, prediction: Tensor, target: Tensor) {
        let (_, gradient) = loss.evaluate(prediction: prediction, target: target)
        let epsilon: Float = 1e-2
        for index in 0..<prediction.count {
            var plus = prediction, minus = prediction
            plus.scalars[index] += epsilon
            minus.scalars[index] -= epsilon
            let numeric = (Double(loss.evaluate(prediction: plus, target: target).value)
                - Double(loss.evaluate(prediction: minus, target: target).value)) / (2 * Double(epsilon))
            let analytic = Double(gradient.scalars[index])
            #expect(abs(analytic - numeric) <= 1e-3 + 1e-2 * abs(numeric), "element \(index): \(analytic) vs \(numeric)")
        }
    }
}

extension Double {
    var exponential: Double { exp(self) }
    var logarithm: Double { log(self) }
}
#if canImport(Glibc)
import Glibc
#endif

@Suite("Fused execution")
struct FusionTests {
    @Test("Conv2D fused with ReLU and MaxPool2D, and Dense with ReLU, match the layers run one by one",
          arguments: supportedKernelPaths)
    func fusedMatchesUnfused(kernels: KernelPath) throws {
        let specs: [LayerSpec] = [
            .conv2d(inputChannels: 2, outputChannels: 5, kernelSize: 3, stride: 1, padding: 1), .relu,
            .maxPool2d(kernelSize: 2, stride: 2),
            .conv2d(inputChannels: 5, outputChannels: 4, kernelSize: 3, stride: 2, padding: 1), .relu,
            .conv2d(inputChannels: 4, outputChannels: 3, kernelSize: 2, stride: 1, padding: 0),
            .maxPool2d(kernelSize: 2, stride: 1), .flatten, .dense(inputSize: 3, outputSize: 6), .relu,
            .dense(inputSize: 6, outputSize: 2),
        ]
        var randomA = RandomGenerator(seed: 5), randomB = RandomGenerator(seed: 5)
        var fused = try Network(inputShape: [2, 13, 13], layers: specs, random: &randomA)
        var plain = try Network(inputShape: [2, 13, 13], layers: specs, random: &randomB, fuse: false)
        #expect(fused.steps.count == 6 && plain.steps.count == specs.count)
        #expect(fused.steps.map(\.description) == [
            "Convolution 2→5 3×3 padding 1 + ReLU + max-pool 2×2", "Convolution 5→4 3×3 stride 2 padding 1 + ReLU",
            "Convolution 4→3 2×2 + max-pool 2×2 stride 1", "Flatten", "Dense 3→6 + ReLU", "Dense 6→2",
        ])
        #expect(fused.steps.map(\.layers) == [0..<3, 3..<5, 5..<7, 7..<8, 8..<10, 10..<11])
        let input = uniformValues([7, 2, 13, 13], seed: 6)
        var context = ExecutionContext(kernels: kernels)
        var tapeFused = Tape(), tapePlain = Tape()
        let outputFused = fused.forward(input, tape: &tapeFused, context: &context)
        let outputPlain = plain.forward(input, tape: &tapePlain, context: &context)
        #expect(outputFused == outputPlain)
        #expect(fused.forward(input, context: context) == outputFused)
        let gradient = uniformValues(outputFused.shape, seed: 7)
        var gradientsFused = fused.makeGradients(), gradientsPlain = plain.makeGradients()
        let inputGradientFused = fused.backward(gradient, tape: tapeFused, gradients: &gradientsFused, context: context,
                                                needsInputGradient: true)!
        let inputGradientPlain = plain.backward(gradient, tape: tapePlain, gradients: &gradientsPlain, context: context,
                                                needsInputGradient: true)!
        #expect(maxDifference(inputGradientFused, inputGradientPlain) < 1e-6)
        for (index, name) in fused.parameterNames.enumerated() {
            #expect(maxDifference(gradientsFused[index], gradientsPlain[index]) < 1e-5, "\(name)")
        }
    }

    @Test("A Conv2D's BatchNorm, ReLU and MaxPool2D run inside it in training and give the layers' results bit for bit",
          arguments: supportedKernelPaths)
    func batchNormEpilogueMatchesUnfused(kernels: KernelPath) throws {
        let bn = { (features: Int) in LayerSpec.batchNorm(features: features, momentum: 0.1, epsilon: 1e-5) }
        let specs: [LayerSpec] = [
            .conv2d(inputChannels: 2, outputChannels: 5, kernelSize: 3, stride: 1, padding: 1), bn(5), .relu,
            .maxPool2d(kernelSize: 2, stride: 2),
            .conv2d(inputChannels: 5, outputChannels: 4, kernelSize: 3, stride: 2, padding: 1), bn(4), .relu,
            .conv2d(inputChannels: 4, outputChannels: 3, kernelSize: 2, stride: 1, padding: 0), bn(3),
            .maxPool2d(kernelSize: 3, stride: 2), .flatten, .dense(inputSize: 3, outputSize: 2),
        ]
        var randomA = RandomGenerator(seed: 8), randomB = RandomGenerator(seed: 8)
        var fused = try Network(inputShape: [2, 18, 17], layers: specs, random: &randomA)
        var plain = try Network(inputShape: [2, 18, 17], layers: specs, random: &randomB, fuse: false)
        #expect(fused.steps.map(\.description) == [
            "Convolution 2→5 3×3 padding 1 + BatchNorm + ReLU + max-pool 2×2",
            "Convolution 5→4 3×3 stride 2 padding 1 + BatchNorm + ReLU",
            "Convolution 4→3 2×2 + BatchNorm + max-pool 3×3 stride 2", "Flatten", "Dense 3→2",
        ])
        // γ and β away from 1 and 0, so that a mix-up of the two would show.
        var weights = fused.weights
        for (index, name) in fused.parameterNames.enumerated() where name.hasPrefix("layers.1.") || name.hasPrefix("layers.5.")
            || name.hasPrefix("layers.8.") {
            weights.parameters[index] = uniformValues(weights.parameters[index].shape, seed: UInt64(index))
        }
        fused.setWeights(weights)
        plain.setWeights(weights)
        let input = uniformValues([9, 2, 18, 17], seed: 9)
        var runs: [[[Float]]] = []   // per thread count: the output, the input gradient, the gradients
        for threads in [1, 2] {
            var context = ExecutionContext(threads: threads, kernels: kernels)
            var tapeFused = Tape(), tapePlain = Tape()
            let outputFused = fused.forward(input, tape: &tapeFused, context: &context)
            let outputPlain = plain.forward(input, tape: &tapePlain, context: &context)
            #expect(outputFused == outputPlain)
            #expect(fused.buffers == plain.buffers)
            // Inference folds the running statistics into the convolution.
            #expect(maxDifference(fused.forward(input, context: context), plain.forward(input, context: context)) < 1e-5)
            let gradient = uniformValues(outputFused.shape, seed: 10)
            var gradientsFused = fused.makeGradients(), gradientsPlain = plain.makeGradients()
            let inputGradientFused = fused.backward(gradient, tape: tapeFused, gradients: &gradientsFused,
                                                    context: context, needsInputGradient: true)!
            let inputGradientPlain = plain.backward(gradient, tape: tapePlain, gradients: &gradientsPlain,
                                                    context: context, needsInputGradient: true)!
            #expect(inputGradientFused == inputGradientPlain)
            for (index, name) in fused.parameterNames.enumerated() {
                #expect(gradientsFused[index] == gradientsPlain[index], "\(name)")
            }
            // Without the input's gradient the first convolution still needs its normalisation's.
            var gradientsFirstOnly = fused.makeGradients()
            fused.backward(gradient, tape: tapeFused, gradients: &gradientsFirstOnly, context: context)
            #expect(gradientsFirstOnly.map(\.scalars) == gradientsFused.map(\.scalars))
            runs.append([outputFused.scalars, inputGradientFused.scalars] + gradientsFused.map(\.scalars))
        }
        #expect(runs[0] == runs[1], "one thread and two differ")
    }
}
