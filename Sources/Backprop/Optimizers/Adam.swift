import MatrixKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam (Kingma & Ba) with L2 weight decay folded into the gradient, as `torch.optim.Adam`:
///
///     g = grad + weightDecay·w
///     m = beta1·m + (1 − beta1)·g,   v = beta2·v + (1 − beta2)·g²        (both start at 0)
///     w −= lr · (m / (1 − beta1ᵗ)) / (√(v / (1 − beta2ᵗ)) + epsilon)
public final class Adam: Optimizer {
    private var core: AdamCore

    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        core = AdamCore(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                        l2Decay: weightDecay, decoupledDecay: 0)
    }

    public var learningRate: Float {
        get { core.learningRate }
        set { core.learningRate = newValue }
    }
    public var weightDecay: Float { core.l2Decay }

    public func beginStep(parameterShapes: [[Int]]) { core.slots.begin(parameterShapes, optimizer: "Adam") }

    public func update(parameter index: Int, values: UnsafeMutableBufferPointer<Float>,
                       gradient: UnsafeBufferPointer<Float>, threads: Int) {
        core.update(parameter: index, values: values, gradient: gradient, threads: threads)
    }

    public var state: OptimizerState { core.slots.state }

    public func restoreState(_ state: OptimizerState, parameterShapes: [[Int]]) throws(OptimizerStateError) {
        try core.slots.restore(state, parameterShapes: parameterShapes)
    }
}

/// What Adam and AdamW share: hyperparameters, moment slots and the update; they differ only in
/// where weight decay enters.
struct AdamCore {
    var learningRate: Float
    let beta1: Float
    let beta2: Float
    let epsilon: Float
    /// Added to the gradient (Adam's weight decay).
    let l2Decay: Float
    /// Applied to the weight directly (AdamW's weight decay).
    let decoupledDecay: Float
    var slots = OptimizerSlots(names: ["m", "v"])

    /// One Adam update of one parameter in place. `l2Decay` is added to the gradient (Adam);
    /// `decoupledDecay` shrinks the weight directly, w −= lr·decay·w, before the step (AdamW).
    func update(parameter index: Int, values w: UnsafeMutableBufferPointer<Float>,
                gradient grad: UnsafeBufferPointer<Float>, threads: Int) {
        let count = w.count
        let (m, v) = (slots.pointer(0, parameter: index, count: count), slots.pointer(1, parameter: index, count: count))
        // Bias corrections in Double: beta2ᵗ stays accurate for long runs.
        let t = slots.step
        let correction1 = Float(1 - pow(Double(beta1), Double(t)))
        let correction2 = Float(1 - pow(Double(beta2), Double(t)))
        let coefficients = AdamUpdate.Coefficients(
            beta1: beta1, beta2: beta2, l2Decay: l2Decay, correction2: correction2,
            stepSize: learningRate / correction1, shrink: 1 - learningRate * decoupledDecay, epsilon: epsilon)
        // Large tensors are updated in parallel chunks (memory-bound: 1.2 M weights, 2.3 → 1.3 ms).
        // The widest vectors the CPU has: every path gives the same weights (``AdamUpdate``).
        let chunk = 1 << 15
        let chunks = (count + chunk - 1) / chunk
        guard let weights = w.baseAddress, let gradient = grad.baseAddress else { return }
        Parallel.forEach(tasks: chunks, threads: chunks >= 2 ? threads : 1) { index in
            KernelPath.best.adam(coefficients, w: weights, grad: gradient, m: m, v: v,
                                 range: (index * chunk)..<min(count, (index + 1) * chunk))
        }
    }
}
