/// How the pooled gradient kernels walk a run of a patch (`PooledWeightGradient.Window`): in
/// blocks of up to eight vectors, as many chains in flight, the last vector of the run possibly
/// partial (it keeps only the run's places).
@usableFromInline
enum RunBlocks {
    /// Calls `body(count, lastKept, j)` for each block of a `length`-float run: `count` vectors
    /// from float `j`, the last of which keeps `lastKept` lanes. `count` is a literal at each call
    /// of `body`, so that once inlined the vectors a block does not use fold away.
    @inlinable @inline(__always)
    static func forEach(length: Int, lanes: Int, _ body: (_ count: Int, _ lastKept: Int, _ j: Int) -> Void) {
        var j = 0
        while j < length {
            let remaining = length - j
            let count = min(8, (remaining + lanes - 1) / lanes)
            let lastKept = min(lanes, remaining - (count - 1) * lanes)
            switch count {
            case 8: body(8, lastKept, j)
            case 7: body(7, lastKept, j)
            case 6: body(6, lastKept, j)
            case 5: body(5, lastKept, j)
            case 4: body(4, lastKept, j)
            case 3: body(3, lastKept, j)
            case 2: body(2, lastKept, j)
            default: body(1, lastKept, j)
            }
            j += min(remaining, count * lanes)
        }
    }

    /// Vector `k` of a `count`-vector block at `block`: whole, or, for the block's partial last
    /// vector, its first `lastKept` lanes and zeros after them (nothing past the run is read).
    @inlinable @inline(__always)
    static func load<V: SIMD>(_ block: UnsafePointer<Float>, vector k: Int, count: Int, lastKept: Int) -> V
        where V.Scalar == Float {
        let lanes = V.scalarCount
        guard lastKept < lanes && k == count - 1 else {
            return UnsafeRawPointer(block).loadUnaligned(fromByteOffset: k * lanes * 4, as: V.self)
        }
        var v = V()
        for lane in 0..<lastKept { v[lane] = block[k * lanes + lane] }
        return v
    }

    /// Stores `v` as vector `k` of a `count`-vector block at `block`: whole, or only its first
    /// `lastKept` lanes for the block's partial last vector.
    @inlinable @inline(__always)
    static func store<V: SIMD>(_ v: V, _ block: UnsafeMutablePointer<Float>, vector k: Int, count: Int, lastKept: Int)
        where V.Scalar == Float {
        let lanes = V.scalarCount
        guard lastKept < lanes && k == count - 1 else {
            UnsafeMutableRawPointer(block).storeBytes(of: v, toByteOffset: k * lanes * 4, as: V.self)
            return
        }
        for lane in 0..<lastKept { block[k * lanes + lane] = v[lane] }
    }
}
