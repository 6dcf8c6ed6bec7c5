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
        let (beta1, beta2, epsilon, l2Decay) = (self.beta1, self.beta2, self.epsilon, self.l2Decay)
        // Bias corrections in Double: beta2ᵗ stays accurate for long runs.
        let t = slots.step
        let correction1 = Float(1 - pow(Double(beta1), Double(t)))
        let correction2 = Float(1 - pow(Double(beta2), Double(t)))
        let stepSize = learningRate / correction1
        let shrink = 1 - learningRate * decoupledDecay
        // Explicit 8-lane vectors: the compiler cannot prove the five buffers do not alias,
        // so it would not vectorise the scalar loop (measured 3.1 ms → 0.6 ms for 1.2 M weights).
        typealias V = SIMD8<Float>
        let (g0, w0) = (UnsafeRawPointer(grad.baseAddress!), UnsafeMutableRawPointer(w.baseAddress!))
        let (m0, v0) = (UnsafeMutableRawPointer(m), UnsafeMutableRawPointer(v))
        // Large tensors are updated in parallel chunks (memory-bound: 1.2 M weights, 2.3 → 1.3 ms).
        let chunk = 1 << 15
        let chunks = (count + chunk - 1) / chunk
        Parallel.forEach(tasks: chunks, threads: chunks >= 2 ? threads : 1) { index in
            var i = index * chunk
            let end = min(count, i + chunk)
            while i + 8 <= end {
                let offset = i * 4
                let wv = w0.loadUnaligned(fromByteOffset: offset, as: V.self)
                let g = g0.loadUnaligned(fromByteOffset: offset, as: V.self) + l2Decay * wv
                let mv = beta1 * m0.loadUnaligned(fromByteOffset: offset, as: V.self) + (1 - beta1) * g
                let vv = beta2 * v0.loadUnaligned(fromByteOffset: offset, as: V.self) + (1 - beta2) * g * g
                m0.storeBytes(of: mv, toByteOffset: offset, as: V.self)
                v0.storeBytes(of: vv, toByteOffset: offset, as: V.self)
                let denominator = (vv / correction2).squareRoot() + epsilon
                w0.storeBytes(of: wv * shrink - stepSize * mv / denominator, toByteOffset: offset, as: V.self)
                i += 8
            }
            while i < end {
                let g = grad[i] + l2Decay * w[i]
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                let denominator = (v[i] / correction2).squareRoot() + epsilon
                w[i] = w[i] * shrink - stepSize * m[i] / denominator
                i += 1
            }
        }
    }
}
