import Testing
import Backprop

/// Two steps of every optimizer against values computed independently by
/// Tools/optimizer-reference.py (the PyTorch documentation formulas, in Python doubles). Each
/// optimizer has its own expected values, so substituting another one fails.
@Suite("Optimizers match hand-computed steps")
struct OptimizerTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let make: @Sendable () -> any Optimizer
        let expected: [[Float]]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "SGD", make: { SGD(learningRate: 0.1) }, expected: [[0.95, -2.025], [0.97, -2.065]]),
        Case(name: "SGD + weight decay", make: { SGD(learningRate: 0.1, weightDecay: 0.1) },
             expected: [[0.94, -2.005], [0.9506, -2.02495]]),
        Case(name: "SGD + momentum", make: { SGD(learningRate: 0.1, momentum: 0.9) },
             expected: [[0.95, -2.025], [0.925, -2.0875]]),
        Case(name: "SGD + Nesterov", make: { SGD(learningRate: 0.1, momentum: 0.9, nesterov: true) },
             expected: [[0.905, -2.0475], [0.9025, -2.14375]]),
        Case(name: "RMSprop", make: { RMSprop(learningRate: 0.01) },
             expected: [[0.9, -2.1], [0.9373002, -2.1849191]]),
        Case(name: "RMSprop + momentum", make: { RMSprop(learningRate: 0.01, momentum: 0.5) },
             expected: [[0.9, -2.1], [0.8873002, -2.2349191]]),
        Case(name: "Adam", make: { Adam(learningRate: 0.1) },
             expected: [[0.9, -2.1], [0.8654394, -2.1986118]]),
        Case(name: "Adam + L2 weight decay", make: { Adam(learningRate: 0.1, weightDecay: 0.1) },
             expected: [[0.9, -2.1], [0.8475191, -2.1890104]]),
        Case(name: "AdamW", make: { AdamW(learningRate: 0.1, weightDecay: 0.1) },
             expected: [[0.89, -2.08], [0.8465394, -2.1578118]]),
    ]

    static let gradients: [[Float]] = [[0.5, 0.25], [-0.2, 0.4]]

    @Test(arguments: cases)
    func firstTwoSteps(_ testCase: Case) {
        let optimizer = testCase.make()
        var parameters = [Tensor(shape: [2], scalars: [1, -2])]
        for (step, gradient) in Self.gradients.enumerated() {
            optimizer.step(&parameters, gradients: [Tensor(shape: [2], scalars: gradient)])
            for i in 0..<2 {
                #expect(abs(parameters[0].scalars[i] - testCase.expected[step][i]) < 2e-6,
                        "step \(step + 1), element \(i): \(parameters[0].scalars[i]) vs \(testCase.expected[step][i])")
            }
        }
    }

    @Test("Stepping a network updates its parameters as stepping the tensors does", arguments: cases)
    func networkStep(_ testCase: Case) throws {
        var random = RandomGenerator(seed: 3)
        var network = try Network(inputShape: [3], layers: [.dense(inputSize: 3, outputSize: 2)], random: &random)
        var tensors = network.parameters
        let gradients = [uniformValues([2, 3], seed: 1), uniformValues([2], seed: 2)]
        let (a, b) = (testCase.make(), testCase.make())
        for _ in 0..<2 {
            a.step(&network, gradients: gradients)
            b.step(&tensors, gradients: gradients)
        }
        #expect(network.parameters == tensors)
    }

    @Test("State read after one step and restored into a fresh optimizer continues identically", arguments: cases)
    func stateRoundTrip(_ testCase: Case) throws {
        let original = testCase.make()
        var parameters = [Tensor(shape: [2], scalars: [1, -2]), Tensor(shape: [1], scalars: [0.5])]
        let gradients = Self.gradients.map { [Tensor(shape: [2], scalars: $0), Tensor(shape: [1], scalars: [$0[0]])] }
        original.step(&parameters, gradients: gradients[0])
        let restored = testCase.make()
        var copy = parameters
        try restored.restoreState(original.state, parameterShapes: copy.map(\.shape))
        original.step(&parameters, gradients: gradients[1])
        restored.step(&copy, gradients: gradients[1])
        #expect(parameters == copy)
        #expect(original.state == restored.state)
    }

    @Test("Restoring mismatched state is a clear error")
    func badState() {
        let adam = Adam()
        let shapes = [[2]]
        let wrongShape = OptimizerState(step: 1, slots: ["m": [Tensor(shape: [3])], "v": [Tensor(shape: [2])]])
        #expect(throws: OptimizerStateError("optimizer state \"m\" of parameter 0 has shape [3], expected [2]")) {
            try adam.restoreState(wrongShape, parameterShapes: shapes)
        }
        #expect(throws: OptimizerStateError("optimizer state lacks slot \"m\"")) {
            try adam.restoreState(OptimizerState(step: 1, slots: [:]), parameterShapes: shapes)
        }
        let extra = OptimizerState(step: 1, slots: ["m": [Tensor(shape: [2])], "v": [Tensor(shape: [2])], "w": []])
        #expect(throws: OptimizerStateError("optimizer state has an unexpected slot \"w\"")) {
            try adam.restoreState(extra, parameterShapes: shapes)
        }
        let tooFew = OptimizerState(step: 1, slots: ["m": [Tensor(shape: [2])], "v": [Tensor(shape: [2])]])
        #expect(throws: OptimizerStateError.self) { try adam.restoreState(tooFew, parameterShapes: [[2], [2]]) }
    }

    @Test("Gradient clipping rescales to the maximum norm and reports the original")
    func clipping() {
        var gradients = [Tensor(shape: [2], scalars: [3, 0]), Tensor(shape: [1], scalars: [4])]
        let norm = clipGradientNorm(&gradients, maxNorm: 1)
        #expect(abs(norm - 5) < 1e-9)
        #expect(abs(gradientNorm(gradients) - 1) < 1e-5)
        #expect(abs(gradients[0].scalars[0] - 0.6) < 1e-5 && abs(gradients[1].scalars[0] - 0.8) < 1e-5)
    }

    @Test("Learning-rate schedules")
    func schedules() {
        let step = LearningRateScheduler(schedule: .step(epochs: 2, factor: 0.5), totalEpochs: 6)
        #expect([0, 1, 2, 3, 4].map { step.factor(epoch: $0, batch: 0, batchesPerEpoch: 10) } == [1, 1, 0.5, 0.5, 0.25])

        let cosine = LearningRateScheduler(schedule: .cosine(warmupEpochs: 1, minimumFactor: 0), totalEpochs: 3)
        #expect(abs(cosine.factor(epoch: 0, batch: 4, batchesPerEpoch: 10) - 0.5) < 1e-6)   // warm-up halfway
        #expect(abs(cosine.factor(epoch: 1, batch: 0, batchesPerEpoch: 10) - 1) < 1e-6)     // peak
        #expect(abs(cosine.factor(epoch: 2, batch: 0, batchesPerEpoch: 10) - 0.5) < 1e-6)   // halfway down
        #expect(cosine.factor(epoch: 2, batch: 9, batchesPerEpoch: 10) < 0.03)

        var plateau = LearningRateScheduler(schedule: .reduceOnPlateau(factor: 0.1, patience: 1), totalEpochs: 10)
        for metric in [1.0, 0.9, 0.95, 0.92] { plateau.endEpoch(metric: metric) }
        #expect(abs(plateau.plateauFactor - 0.1) < 1e-7)   // two epochs without beating 0.9
        plateau.endEpoch(metric: 0.5)
        #expect(abs(plateau.plateauFactor - 0.1) < 1e-7)
    }
}
