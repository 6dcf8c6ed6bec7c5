// Operands of C = op(A) · op(B). Shapes are given by the GEMM call; an operand only says how the
// logical matrix is laid out in memory.

/// A row-major matrix in memory, read as itself or as its transpose, or one already packed.
///
/// When `isTransposed` is false the logical element (i, j) is `base[i * rowStride + j]`;
/// when it is true the logical element (i, j) is `base[j * rowStride + i]`.
@frozen
public struct MatrixOperand: @unchecked Sendable {
    /// First element of the stored matrix.
    public var base: UnsafePointer<Float>
    /// Distance in floats between consecutive stored rows (BLAS `ld`).
    public var rowStride: Int
    /// Whether the logical matrix is the transpose of the stored one.
    public var isTransposed: Bool
    /// Whether `base` holds the operand in the panel layout the GEMM packs into (`PanelPacking`),
    /// so that the product uses it as it is instead of packing it again.
    public var isPacked: Bool

    @inlinable
    public init(_ base: UnsafePointer<Float>, rowStride: Int, transposed: Bool = false) {
        self.base = base
        self.rowStride = rowStride
        self.isTransposed = transposed
        self.isPacked = false
    }

    /// An operand packed beforehand, for products that share it or whose producer can write
    /// panels directly: op(A) packed by `PanelPacking` with the kernel path's row width (MR),
    /// or op(B)ᵀ with its column width (NR).
    @inlinable
    public static func packed(_ base: UnsafePointer<Float>) -> MatrixOperand {
        var operand = MatrixOperand(base, rowStride: 0)
        operand.isPacked = true
        return operand
    }
}

/// One matrix product `C[m×n] (+)= op(A)[m×k] · op(B)[k×n]`, everything row-major, in Float32.
@frozen
public struct MatrixProduct: @unchecked Sendable {
    public var m: Int
    public var n: Int
    public var k: Int
    public var a: MatrixOperand
    public var b: MatrixOperand
    /// First element of C; element (i, j) is `c[i * cRowStride + j]`.
    public var c: UnsafeMutablePointer<Float>
    public var cRowStride: Int
    /// When true C += op(A)·op(B); when false C = op(A)·op(B) (C's old contents are never read).
    public var accumulate: Bool

    @inlinable
    public init(m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand,
                c: UnsafeMutablePointer<Float>, cRowStride: Int, accumulate: Bool) {
        precondition(m >= 0 && n >= 0 && k >= 0, "negative GEMM dimension m=\(m) n=\(n) k=\(k)")
        precondition(cRowStride >= n, "C row stride \(cRowStride) < n \(n)")
        precondition(a.isPacked || a.rowStride >= (a.isTransposed ? m : k) || m == 0 || k == 0, "A row stride too small")
        precondition(b.isPacked || b.rowStride >= (b.isTransposed ? k : n) || n == 0 || k == 0, "B row stride too small")
        self.m = m
        self.n = n
        self.k = k
        self.a = a
        self.b = b
        self.c = c
        self.cRowStride = cRowStride
        self.accumulate = accumulate
    }

    /// Products of at most this many rows by a transposed, unpacked B (a dense layer at batch
    /// 1–4) read B as it is, as dot products: a B packed beforehand is not what they read.
    public static let fewRows = 4

    /// KC, the depth of one packed block: the blocked GEMM sums each element over k in blocks of
    /// this many, in order (a product of depth at most this is one sum from 0 per element).
    public static let depthBlock = 256

    /// 2·m·n·k, the floating-point operations the product performs.
    @inlinable
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}
