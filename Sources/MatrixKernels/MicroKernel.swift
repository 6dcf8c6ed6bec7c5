/// A register-tiled kernel that computes one `rows × columns` tile of C from packed panels.
///
/// Implementations are generic so that each instantiation module compiles them with its own
/// target CPU flags; see `MicroKernel12x2` and `MicroKernel6x2`.
public protocol MicroKernel {
    /// How the kernel multiplies and adds; its vector type is the kernel's.
    associatedtype Arithmetic: MultiplyAdd where Arithmetic.Vector == Vector
    associatedtype Vector: SIMD where Vector.Scalar == Float
    /// Tile height (MR): rows of C per call.
    static var rows: Int { get }
    /// C[rows × columns] (+)= Apanel[depth × rows]ᵀ · Bpanel[depth × columns].
    ///
    /// - Parameters:
    ///   - a: packed A panel, `depth * rows` floats, k-major (the `rows` values of one k together).
    ///   - b: B panel, `depth` groups of `columns` floats (k-major), `bStride` floats apart:
    ///     `columns` for a packed panel, op(B)'s row stride when it is read in place.
    ///   - c: the tile's top-left element; every row must have `columns` writable floats.
    ///   - accumulate: add to C instead of overwriting it.
    static func multiply(depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, bStride: Int,
                         c: UnsafeMutablePointer<Float>, cRowStride: Int, accumulate: Bool)
    /// The smallest tile height this kernel computes (`rows` or fewer) that covers `height` rows.
    static func tileHeight(covering height: Int) -> Int
    /// `multiply` for the first `tileHeight` rows of each `rows`-float A group, a height that
    /// `tileHeight(covering:)` returned; it writes `tileHeight` rows of C.
    static func multiply(tileHeight: Int, depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, bStride: Int,
                         c: UnsafeMutablePointer<Float>, cRowStride: Int, accumulate: Bool)
}

extension MicroKernel {
    /// Tile width (NR): two vectors.
    @inlinable public static var columns: Int { 2 &* Vector.scalarCount }
}
