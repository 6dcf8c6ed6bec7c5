// Legend: o an output channel, p a pooled output of its plane, a a position of the convolution's
// output (where p's maximum came from), l a place in a patch (c·k·k of them), r a run of a window.

/// A pooled convolution's weight gradient from the positions the pooling passed gradient to:
///
///     dweight[o, l] (+)= Σ_p g[o, p] · patch(argmax[o, p])[l],   g = dpool, or 0 where a ReLU
///                                                                 before the pooling blocked it
///
/// Behind a max-pool, the gradient at the convolution's output is zero except at each window's
/// maximum, so of a 2×2 pool's positions three in four add nothing to the dense product
/// `dconv · columnsᵀ`; this sums the one that counts, per pooled output, in pooled order. It
/// equals the dense product up to rounding (the terms are the same, the order differs).
///
/// The patch under a position is read where it lies, as `window` describes it: with the input
/// channels-last (`[height, width, channels]`, padding included), a k × k window is k runs of k·c
/// floats, one per kernel row, a padded row apart, and the places `l` come in the order (kernel
/// row, kernel column, channel), which the caller reorders into the weight's; with im2col's
/// patches as rows, it is one run of c·k·k floats in the weight's own order.
public enum PooledWeightGradient {
    /// Where a position's patch lies: `runs` runs of `length` floats, `stride` floats apart, from
    /// the position's origin. A patch has `runs · length` places.
    public struct Window: Sendable, Equatable {
        public let runs: Int
        public let length: Int
        public let stride: Int

        public init(runs: Int, length: Int, stride: Int) {
            precondition(runs > 0 && length > 0 && stride >= 0, "PooledWeightGradient.Window: runs and length must be positive")
            (self.runs, self.length, self.stride) = (runs, length, stride)
        }

        /// Places in a patch.
        public var patch: Int { runs * length }
    }

    /// See the type's description. `gradient`, `origins` and `reluOutput` (the pooled outputs, when
    /// a ReLU came before the pooling; a gradient passes where they are > 0) are `[oc, pooled]`;
    /// `origins[o, p]` is where in `source` the patch under `argmax[o, p]` starts (in floats), and
    /// `window` how it continues; `dweight` `[oc, window.patch]`, added to when `accumulate`, else
    /// overwritten. `source` must be readable for a vector's lanes past each run's end (finite
    /// values: they feed lanes that are dropped). `factors` is scratch for `outputChannels * pooled`
    /// floats.
    ///
    /// The pooled outputs are taken `group` at a time, whose patches should lie close together in
    /// `source` (a row of pooled outputs: their windows share a few input rows, 13 KB for the MNIST
    /// CNN's second layer), so that every channel and place sums over a group while its source is
    /// in L1; reading each term from L2 instead kept this kernel at about a quarter of the FMA peak.
    @inlinable
    public static func run<M: MultiplyAdd>(_: M.Type, gradient: UnsafePointer<Float>, reluOutput: UnsafePointer<Float>?,
                                          origins: UnsafePointer<Int32>, outputChannels: Int, pooled: Int, group: Int,
                                          source: UnsafePointer<Float>, window: Window,
                                          dweight: UnsafeMutablePointer<Float>, accumulate: Bool,
                                          factors: UnsafeMutablePointer<Float>) {
        typealias V = M.Vector
        let lanes = V.scalarCount
        let rows = UnsafeRawPointer(source)
        let patch = window.patch
        // Each pooled output's gradient, 0 where the ReLU blocked it (selects, no branches).
        if let reluOutput {
            for i in 0..<(outputChannels * pooled) { factors[i] = reluOutput[i] > 0 ? gradient[i] : 0 }
        } else {
            factors.update(from: gradient, count: outputChannels * pooled)
        }
        // Within a group, each run is cut into blocks of up to eight vectors (as many chains in
        // flight), the last of which may keep only some of its lanes: it reads on past the run's
        // end, and only the run's places are stored. Each block is summed in registers over the
        // group's pooled outputs and added to what the groups before left in `dweight`: every
        // element sums its terms in pooled order, as in one pass.
        for first in stride(from: 0, to: pooled, by: max(1, group)) {
            let terms = first..<min(pooled, first + max(1, group))
            let adding = accumulate || first > 0
            for run in 0..<window.runs {
                // Places run·length + j of the patch, read at offset run·stride + j of each origin.
                let (target, offset) = (run * window.length, run * window.stride)
                RunBlocks.forEach(length: window.length, lanes: lanes) { count, lastKept, j in
                    for o in 0..<outputChannels {
                        sumBlock(M.self, count: count, lastKept: lastKept, o, origins, pooled, terms, rows,
                                 offset + j, dweight + o * patch + target + j, adding, factors)
                    }
                }
            }
        }
    }

    /// out[0 ..< count vectors] (+)= Σ_{p in terms} factor[o, p] · source[origins[o, p] + offset,
    /// same places], `count` in 1...8 accumulators in flight; of the last vector only `lastKept`
    /// lanes are read from and written to `out`.
    @inlinable @inline(__always)
    static func sumBlock<M: MultiplyAdd>(_: M.Type, count: Int, lastKept: Int, _ o: Int, _ origins: UnsafePointer<Int32>,
                                         _ pooled: Int, _ terms: Range<Int>, _ rows: UnsafeRawPointer, _ offset: Int,
                                         _ out: UnsafeMutablePointer<Float>, _ accumulate: Bool,
                                         _ factors: UnsafePointer<Float>) {
        typealias V = M.Vector
        let lanes = V.scalarCount
        let (f, starts) = (factors + o * pooled, origins + o * pooled)
        func initial(_ k: Int) -> V {
            accumulate && k < count ? RunBlocks.load(out, vector: k, count: count, lastKept: lastKept) : V()
        }
        var (s0, s1, s2, s3) = (initial(0), initial(1), initial(2), initial(3))
        var (s4, s5, s6, s7) = (initial(4), initial(5), initial(6), initial(7))
        for p in terms {
            let factor = V(repeating: f[p])
            let row = (Int(starts[p]) + offset) * 4
            func term(_ k: Int) -> V { rows.loadUnaligned(fromByteOffset: row + k * lanes * 4, as: V.self) }
            s0 = M.multiplyAdd(s0, factor, term(0))
            if count > 1 { s1 = M.multiplyAdd(s1, factor, term(1)) }
            if count > 2 { s2 = M.multiplyAdd(s2, factor, term(2)) }
            if count > 3 { s3 = M.multiplyAdd(s3, factor, term(3)) }
            if count > 4 { s4 = M.multiplyAdd(s4, factor, term(4)) }
            if count > 5 { s5 = M.multiplyAdd(s5, factor, term(5)) }
            if count > 6 { s6 = M.multiplyAdd(s6, factor, term(6)) }
            if count > 7 { s7 = M.multiplyAdd(s7, factor, term(7)) }
        }
        func store(_ s: V, _ k: Int) {
            if k < count { RunBlocks.store(s, out, vector: k, count: count, lastKept: lastKept) }
        }
        store(s0, 0); store(s1, 1); store(s2, 2); store(s3, 3)
        store(s4, 4); store(s5, 5); store(s6, 6); store(s7, 7)
    }
}
