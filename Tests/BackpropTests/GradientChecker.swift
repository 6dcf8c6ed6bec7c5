import Backprop

/// Finite-difference gradient checking: compares a network's analytic backward pass with central
/// differences of f(x, θ) = Σ r ⊙ network(x), where r is a fixed random projection and f is summed
/// in Double. The forward passes are training passes (dropout with one fixed mask, BatchNorm on
/// batch statistics), so what is checked is exactly what training differentiates.
struct GradientChecker {
    var epsilon: Float = 1e-2
    var absoluteTolerance = 1e-4
    var relativeTolerance = 1e-3
    /// Elements checked per tensor (all of them when the tensor is smaller).
    var samplesPerTensor = 40

    struct Mismatch: CustomStringConvertible {
        let tensor: String
        let index: Int
        let analytic: Double
        let numeric: Double
        var description: String { "\(tensor)[\(index)]: analytic \(analytic), numeric \(numeric)" }
    }

    /// Returns every element whose analytic and numeric gradients disagree, plus how many were checked.
    /// `thermometerInput` describes the input to the network (``ThermometerColumns``).
    func check(_ network: Network, input: Tensor, kernels: KernelPath = .best,
               threads: Int = 2, seed: UInt64 = 1,
               thermometerInput: ThermometerColumns? = nil) -> (mismatches: [Mismatch], checked: Int) {
        var random = RandomGenerator(seed: seed)
        let contextSeed = random.next()
        func makeContext() -> ExecutionContext {
            var context = ExecutionContext(threads: threads, kernels: kernels, random: RandomGenerator(seed: contextSeed))
            context.thermometerInput = thermometerInput
            return context
        }
        var context = makeContext()
        var trained = network
        var tape = Tape()
        let output = trained.forward(input, tape: &tape, context: &context)
        let projection = Tensor(shape: output.shape, scalars: (0..<output.count).map { _ in random.uniform(-1, 1) })
        var gradients = network.makeGradients()
        let inputGradient = trained.backward(projection, tape: tape, gradients: &gradients, context: context,
                                             needsInputGradient: true)!

        func objective(_ network: Network, _ x: Tensor) -> Double {
            var copy = network
            var tape = Tape()
            var context = makeContext()   // same dropout mask every time
            let y = copy.forward(x, tape: &tape, context: &context)
            return zip(y.scalars, projection.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }

        var mismatches: [Mismatch] = []
        var checked = 0
        func compare(_ name: String, count: Int, analytic: (Int) -> Float,
                     perturb: (Int, Float) -> Double) {
            var indices = Array(0..<count)
            if count > samplesPerTensor {
                indices.shuffle(using: &random)
                indices = Array(indices.prefix(samplesPerTensor))
            }
            for index in indices {
                let numeric = (perturb(index, epsilon) - perturb(index, -epsilon)) / (2 * Double(epsilon))
                let exact = Double(analytic(index))
                checked += 1
                if abs(exact - numeric) > absoluteTolerance + relativeTolerance * max(abs(exact), abs(numeric)) {
                    mismatches.append(Mismatch(tensor: name, index: index, analytic: exact, numeric: numeric))
                }
            }
        }

        compare("input", count: input.count, analytic: { inputGradient.scalars[$0] }) { index, delta in
            var x = input
            x.scalars[index] += delta
            return objective(network, x)
        }
        for (parameter, name) in network.parameterNames.enumerated() {
            let gradient = gradients[parameter]
            compare(name, count: gradient.count, analytic: { gradient.scalars[$0] }) { index, delta in
                var weights = network.weights
                weights.parameters[parameter].scalars[index] += delta
                var perturbed = network
                perturbed.setWeights(weights)
                return objective(perturbed, input)
            }
        }
        return (mismatches, checked)
    }
}

/// Values in ±[0.1, 1]: never within the finite-difference step of a ReLU kink at 0.
func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
    var random = RandomGenerator(seed: seed)
    let values = (0..<Tensor.elementCount(shape)).map { _ -> Float in
        let magnitude = random.uniform(0.1, 1)
        return random.next() & 1 == 0 ? magnitude : -magnitude
    }
    return Tensor(shape: shape, scalars: values)
}

/// Distinct values 0.05 apart in random order: no max-pool window has a near-tie.
func distinctValues(_ shape: [Int], seed: UInt64) -> Tensor {
    var random = RandomGenerator(seed: seed)
    var values = (0..<Tensor.elementCount(shape)).map { Float($0) * 0.05 - 1 }
    values.shuffle(using: &random)
    return Tensor(shape: shape, scalars: values)
}

/// Uniform values in [-1, 1).
func uniformValues(_ shape: [Int], seed: UInt64) -> Tensor {
    var random = RandomGenerator(seed: seed)
    return Tensor(shape: shape, scalars: (0..<Tensor.elementCount(shape)).map { _ in random.uniform(-1, 1) })
}

/// Kernel paths this CPU can run (all three on an AVX-512 machine).
let supportedKernelPaths = KernelPath.allCases.filter(\.isSupported)

/// The largest absolute difference between two tensors of the same shape.
func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "maxDifference: \(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
}
