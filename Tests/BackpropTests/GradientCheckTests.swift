import Testing
@testable import Backprop

/// Every layer and loss against central finite differences, on batches above 1 and odd shapes.
@Suite("Finite-difference gradient checks")
struct GradientCheckTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let inputShape: [Int]
        let inputKind: InputKind
        let make: @Sendable () throws -> any Layer
        var testDescription: String { name }
    }

    enum InputKind { case uniform, awayFromZero, distinct }

    static let cases: [Case] = [
        Case(name: "Dense 5→3, batch 3", inputShape: [3, 5], inputKind: .uniform) {
            var random = RandomGenerator(seed: 11)
            return try Dense(inputSize: 5, outputSize: 3, random: &random)
        },
        Case(name: "Dense 17→7, batch 4", inputShape: [4, 17], inputKind: .uniform) {
            var random = RandomGenerator(seed: 12)
            return try Dense(inputSize: 17, outputSize: 7, random: &random)
        },
        Case(name: "Conv2D 2→3, 3×3, 7×7, batch 2", inputShape: [2, 2, 7, 7], inputKind: .uniform) {
            var random = RandomGenerator(seed: 13)
            return try Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, random: &random)
        },
        Case(name: "Conv2D 3→2, 3×3, stride 2, padding 1, 7×7, batch 3", inputShape: [3, 3, 7, 7], inputKind: .uniform) {
            var random = RandomGenerator(seed: 14)
            return try Conv2D(inputChannels: 3, outputChannels: 2, kernelSize: 3, stride: 2, padding: 1, random: &random)
        },
        Case(name: "Conv2D 2→5, 5×5, padding 2, 9×6, batch 2", inputShape: [2, 2, 9, 6], inputKind: .uniform) {
            var random = RandomGenerator(seed: 15)
            return try Conv2D(inputChannels: 2, outputChannels: 5, kernelSize: 5, padding: 2, random: &random)
        },
        Case(name: "Conv2D 1→4, 2×2, stride 3, 8×7, batch 3", inputShape: [3, 1, 8, 7], inputKind: .uniform) {
            var random = RandomGenerator(seed: 16)
            return try Conv2D(inputChannels: 1, outputChannels: 4, kernelSize: 2, stride: 3, random: &random)
        },
        Case(name: "Conv2D 3→2, batch 20 (several gradient groups)", inputShape: [20, 3, 5, 5], inputKind: .uniform) {
            var random = RandomGenerator(seed: 17)
            return try Conv2D(inputChannels: 3, outputChannels: 2, kernelSize: 3, padding: 1, random: &random)
        },
        Case(name: "Conv2D 1→16, 3×3, padding 1, 6×5, batch 3 (weight gradient computed transposed)",
             inputShape: [3, 1, 6, 5], inputKind: .uniform) {
            var random = RandomGenerator(seed: 18)
            return try Conv2D(inputChannels: 1, outputChannels: 16, kernelSize: 3, padding: 1, random: &random)
        },
        Case(name: "MaxPool2D 2×2, 7×7, 2 channels, batch 2", inputShape: [2, 2, 7, 7], inputKind: .distinct) {
            try MaxPool2D(kernelSize: 2)
        },
        Case(name: "MaxPool2D 2×2, 8×10 (windows tile the plane), batch 2", inputShape: [2, 3, 8, 10], inputKind: .distinct) {
            try MaxPool2D(kernelSize: 2)
        },
        Case(name: "MaxPool2D 3×3 stride 2, 7×7, batch 3", inputShape: [3, 3, 7, 7], inputKind: .distinct) {
            try MaxPool2D(kernelSize: 3, stride: 2)
        },
        Case(name: "Flatten", inputShape: [3, 2, 3, 5], inputKind: .uniform) { Flatten() },
        Case(name: "Dropout 0.3 (training)", inputShape: [3, 5, 7], inputKind: .uniform) { try Dropout(rate: 0.3) },
        Case(name: "ReLU", inputShape: [3, 5], inputKind: .awayFromZero) { ReLU() },
        Case(name: "LeakyReLU 0.1", inputShape: [3, 2, 7, 7], inputKind: .awayFromZero) { try LeakyReLU(slope: 0.1) },
        Case(name: "Sigmoid", inputShape: [3, 5], inputKind: .uniform) { Sigmoid() },
        Case(name: "Tanh", inputShape: [3, 5], inputKind: .uniform) { Tanh() },
    ]

    @Test(arguments: cases, supportedKernelPaths)
    func layerGradientsMatchFiniteDifferences(_ testCase: Case, kernels: KernelPath) throws {
        let layer = try testCase.make()
        let input: Tensor = switch testCase.inputKind {
        case .uniform: uniformValues(testCase.inputShape, seed: 3)
        case .awayFromZero: awayFromZero(testCase.inputShape, seed: 3)
        case .distinct: distinctValues(testCase.inputShape, seed: 3)
        }
        let (mismatches, checked) = GradientChecker().check(layer, input: input, kernels: kernels)
        #expect(checked >= min(input.count, 40))
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("A whole conv network's gradients match finite differences", arguments: supportedKernelPaths)
    func sequentialNetwork(kernels: KernelPath) throws {
        var random = RandomGenerator(seed: 21)
        let model = try Sequential(inputShape: [2, 7, 7], specs: [
            .conv2d(inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 1, padding: 1), .tanh,
            .maxPool2d(kernelSize: 2, stride: 2), .flatten, .dense(inputSize: 27, outputSize: 4), .sigmoid,
        ], random: &random)
        let input = uniformValues([3, 2, 7, 7], seed: 4)
        let wrapper = SequentialAsLayer(model)
        let (mismatches, _) = GradientChecker().check(wrapper, input: input, kernels: kernels)
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

/// Lets the gradient checker drive a whole network through the `Layer` interface.
final class SequentialAsLayer: Layer {
    let model: Sequential
    init(_ model: Sequential) { self.model = model }
    var spec: LayerSpec { .flatten }
    var parameters: [Parameter] { model.parameters }
    func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] { model.outputShape }
    func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor { model.forward(input, context: &context) }
    func backward(_ outputGradient: Tensor, context: ExecutionContext, needsInputGradient: Bool) -> Tensor? {
        model.backward(outputGradient, context: context, needsInputGradient: needsInputGradient)
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
        let fused = try Sequential(inputShape: [2, 13, 13], specs: specs, random: &randomA)
        let plain = try Sequential(inputShape: [2, 13, 13], specs: specs, random: &randomB, fuse: false)
        #expect(fused.steps.count == 6 && plain.steps.count == specs.count)
        let input = uniformValues([7, 2, 13, 13], seed: 6)
        var context = ExecutionContext(isTraining: true, kernels: kernels)
        let outputFused = fused.forward(input, context: &context)
        let outputPlain = plain.forward(input, context: &context)
        #expect(outputFused == outputPlain)
        let gradient = uniformValues(outputFused.shape, seed: 7)
        fused.zeroGradients()
        plain.zeroGradients()
        let inputGradientFused = fused.backward(gradient, context: context, needsInputGradient: true)!
        let inputGradientPlain = plain.backward(gradient, context: context, needsInputGradient: true)!
        #expect(maxDifference(inputGradientFused, inputGradientPlain) < 1e-6)
        for (a, b) in zip(fused.parameters, plain.parameters) {
            #expect(maxDifference(a.gradient, b.gradient) < 1e-5, "\(a.name)")
        }
    }

    private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
    }
}
