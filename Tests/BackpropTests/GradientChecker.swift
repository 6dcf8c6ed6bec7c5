@testable import Backprop

/// Finite-difference gradient checking: compares a layer's analytic backward pass with central
/// differences of f(x, θ) = Σ r ⊙ layer(x), where r is a fixed random projection and f is summed
/// in Double.
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
    func check(_ layer: any Layer, input: Tensor, kernels: KernelPath = .best,
               threads: Int = 2, seed: UInt64 = 1) -> (mismatches: [Mismatch], checked: Int) {
        var random = RandomGenerator(seed: seed)
        let contextSeed = random.next()
        func makeContext() -> ExecutionContext {
            ExecutionContext(isTraining: true, threads: threads, kernels: kernels,
                             random: RandomGenerator(seed: contextSeed))
        }
        var context = makeContext()
        let output = layer.forward(input, context: &context)
        let projection = Tensor(shape: output.shape, scalars: (0..<output.count).map { _ in random.uniform(-1, 1) })
        for parameter in layer.parameters { parameter.zeroGradient() }
        let inputGradient = layer.backward(projection, context: context, needsInputGradient: true)!

        func objective(_ x: Tensor) -> Double {
            var context = makeContext()   // same dropout mask every time
            let y = layer.forward(x, context: &context)
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
            return objective(x)
        }
        for parameter in layer.parameters {
            let gradient = parameter.gradient
            compare(parameter.name, count: parameter.value.count, analytic: { gradient.scalars[$0] }) { index, delta in
                let original = parameter.value.scalars[index]
                parameter.value.scalars[index] = original + delta
                defer { parameter.value.scalars[index] = original }
                return objective(input)
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
