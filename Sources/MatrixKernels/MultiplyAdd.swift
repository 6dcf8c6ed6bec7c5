// How a micro-kernel forms acc + a·b. Swift never contracts `acc + a * b` into an FMA, and asking
// for `addingProduct` on a target without FMA hardware turns every lane into an `fmaf` libcall
// (~200x slower), so each instantiation says which form its target wants.

/// The vector type a micro-kernel computes with and how it multiplies and adds.
public protocol MultiplyAdd {
    associatedtype Vector: SIMD where Vector.Scalar == Float
    /// Returns `accumulator + a * b`.
    static func multiplyAdd(_ accumulator: Vector, _ a: Vector, _ b: Vector) -> Vector
}

/// One rounding per step, via the hardware's fused multiply-add (x86 FMA3, ARM NEON).
public enum FusedMultiplyAdd<Vector: SIMD>: MultiplyAdd where Vector.Scalar == Float {
    @inlinable @inline(__always)
    public static func multiplyAdd(_ accumulator: Vector, _ a: Vector, _ b: Vector) -> Vector {
        accumulator.addingProduct(a, b)
    }
}

/// A multiply then an add, for targets without FMA (baseline x86-64).
public enum SeparateMultiplyAdd<Vector: SIMD>: MultiplyAdd where Vector.Scalar == Float {
    @inlinable @inline(__always)
    public static func multiplyAdd(_ accumulator: Vector, _ a: Vector, _ b: Vector) -> Vector {
        accumulator + a * b
    }
}
