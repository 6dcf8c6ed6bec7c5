/// Adam's update of one parameter, elementwise over vectors of the instantiation's width:
///
///     g = grad + l2Decay·w
///     m = beta1·m + (1 − beta1)·g,   v = beta2·v + (1 − beta2)·g²
///     w = w·shrink − stepSize·m / (√(v / correction2) + epsilon)
///
/// Only multiplies, adds, divides and square roots, each rounded once: every vector width gives
/// the same weights bit for bit (the ISA paths differ only in speed). The module that
/// instantiates it needs `-Xcc -fno-math-errno`, or each lane's square root becomes a branch and a
/// call (Linux's sqrtf sets errno).
public enum AdamUpdate {
    /// The step's constants (see the formula above).
    public struct Coefficients: Sendable {
        public let beta1: Float
        public let beta2: Float
        public let l2Decay: Float
        public let correction2: Float
        public let stepSize: Float
        public let shrink: Float
        public let epsilon: Float

        public init(beta1: Float, beta2: Float, l2Decay: Float, correction2: Float, stepSize: Float, shrink: Float,
                    epsilon: Float) {
            (self.beta1, self.beta2, self.l2Decay, self.correction2) = (beta1, beta2, l2Decay, correction2)
            (self.stepSize, self.shrink, self.epsilon) = (stepSize, shrink, epsilon)
        }
    }

    /// Updates elements `range` of the weights `w` and moments `m`, `v` from the gradient `grad`.
    @inlinable
    public static func run<V: SIMD>(_: V.Type, _ c: Coefficients, w: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                                    m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                                    range: Range<Int>) where V.Scalar == Float {
        // Explicit vectors: the compiler cannot prove the four buffers do not alias, so it would
        // not vectorise the scalar loop.
        let (g0, w0) = (UnsafeRawPointer(grad), UnsafeMutableRawPointer(w))
        let (m0, v0) = (UnsafeMutableRawPointer(m), UnsafeMutableRawPointer(v))
        let lanes = V.scalarCount
        var i = range.lowerBound
        while i + lanes <= range.upperBound {
            let offset = i * 4
            let wv = w0.loadUnaligned(fromByteOffset: offset, as: V.self)
            let g = g0.loadUnaligned(fromByteOffset: offset, as: V.self) + c.l2Decay * wv
            let mv = c.beta1 * m0.loadUnaligned(fromByteOffset: offset, as: V.self) + (1 - c.beta1) * g
            let vv = c.beta2 * v0.loadUnaligned(fromByteOffset: offset, as: V.self) + (1 - c.beta2) * g * g
            m0.storeBytes(of: mv, toByteOffset: offset, as: V.self)
            v0.storeBytes(of: vv, toByteOffset: offset, as: V.self)
            let denominator = (vv / c.correction2).squareRoot() + c.epsilon
            w0.storeBytes(of: wv * c.shrink - c.stepSize * mv / denominator, toByteOffset: offset, as: V.self)
            i += lanes
        }
        while i < range.upperBound {
            let g = grad[i] + c.l2Decay * w[i]
            m[i] = c.beta1 * m[i] + (1 - c.beta1) * g
            v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g
            let denominator = (v[i] / c.correction2).squareRoot() + c.epsilon
            w[i] = w[i] * c.shrink - c.stepSize * m[i] / denominator
            i += 1
        }
    }
}
