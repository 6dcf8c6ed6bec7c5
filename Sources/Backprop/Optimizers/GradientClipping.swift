/// The L2 norm of all gradients taken together, summed in Double.
/// Non-finite when any gradient element is NaN or infinite.
public func gradientNorm(_ gradients: [Tensor]) -> Double {
    var total = 0.0
    for gradient in gradients {
        gradient.withUnsafeBufferPointer { grad in
            guard let start = grad.baseAddress else { return }
            // Eight lanes of partial sums: a single running sum cannot be vectorised (its order
            // of additions is fixed), and this pass over every gradient runs once per step.
            var lanes = SIMD8<Float>()
            var i = 0
            let base = UnsafeRawPointer(start)
            while i + 8 <= grad.count {
                let g = base.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                lanes += g * g
                i += 8
            }
            var partial = lanes.sum()
            while i < grad.count {
                partial += grad[i] * grad[i]
                i += 1
            }
            total += Double(partial)
        }
    }
    return total.squareRoot()
}

/// Scales every gradient by the same factor so that their joint L2 norm is at most `maxNorm`
/// (like `torch.nn.utils.clip_grad_norm_`), and returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: inout [Tensor], maxNorm: Double) -> Double {
    precondition(maxNorm > 0, "clipGradientNorm: maxNorm must be positive")
    let norm = gradientNorm(gradients)
    guard norm.isFinite, norm > maxNorm else { return norm }
    let scale = Float(maxNorm / (norm + 1e-6))
    for index in gradients.indices {
        gradients[index].withUnsafeMutableBufferPointer { grad in
            for i in 0..<grad.count { grad[i] *= scale }
        }
    }
    return norm
}
