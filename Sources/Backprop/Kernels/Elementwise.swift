#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A tensor of `transform(x)` for every element x of `input`, same shape.
@inline(__always)
func mapElements(_ input: Tensor, _ transform: (Float) -> Float) -> Tensor {
    Tensor(shape: input.shape) { out in
        input.withUnsafeBufferPointer { x in
            for i in 0..<x.count { out[i] = transform(x[i]) }
        }
    }
}

/// A tensor of `combine(a, b)` for corresponding elements; the shapes must match.
@inline(__always)
func zipElements(_ a: Tensor, _ b: Tensor, _ combine: (Float, Float) -> Float) -> Tensor {
    precondition(a.shape == b.shape, "elementwise: shapes \(a.shape) and \(b.shape) differ")
    return Tensor(shape: a.shape) { out in
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                for i in 0..<x.count { out[i] = combine(x[i], y[i]) }
            }
        }
    }
}

@inline(__always) func exponential(_ x: Float) -> Float { expf(x) }
@inline(__always) func logarithm(_ x: Float) -> Float { logf(x) }
@inline(__always) func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
@inline(__always) func exponentialDouble(_ x: Double) -> Double { exp(x) }
@inline(__always) func hyperbolicTangentDouble(_ x: Double) -> Double { tanh(x) }
