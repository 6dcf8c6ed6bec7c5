// Legend: o an output channel, p a pooled output of its plane, a a position of the convolution's
// output (where p's maximum came from), l a place in a patch (c·k·k of them).

/// A pooled convolution's weight gradient from the positions the pooling passed gradient to:
///
///     dweight[o, l] (+)= Σ_p g[o, p] · patches[argmax[o, p], l],   g = dpool, or 0 where a ReLU
///                                                                    before the pooling blocked it
///
/// Behind a max-pool, the gradient at the convolution's output is zero except at each window's
/// maximum, so of a 2×2 pool's positions three in four add nothing to the dense product
/// `dconv · columnsᵀ`; this sums the one that counts, per pooled output, in pooled order. It
/// equals the dense product up to rounding (the terms are the same, the order differs).
public enum PooledWeightGradient {
    /// See the type's description. `gradient`, `argmax` and `reluOutput` (the pooled outputs, when
    /// a ReLU came before the pooling; a gradient passes where they are > 0) are `[oc, pooled]`;
    /// `patches` `[positions, patch]` (row `a`: the input patch under position `a`); `dweight`
    /// `[oc, patch]`, added to when `accumulate`, else overwritten. `patches` must be readable for a
    /// vector's lanes past its end (finite values: they feed lanes that are dropped).
    /// `factors` is scratch for `outputChannels * pooled` floats.
    @inlinable
    public static func run<M: MultiplyAdd>(_: M.Type, gradient: UnsafePointer<Float>, reluOutput: UnsafePointer<Float>?,
                                          argmax: UnsafePointer<Int32>, outputChannels: Int, pooled: Int,
                                          patches: UnsafePointer<Float>, patch: Int,
                                          dweight: UnsafeMutablePointer<Float>, accumulate: Bool,
                                          factors: UnsafeMutablePointer<Float>) {
        typealias V = M.Vector
        let lanes = V.scalarCount
        let rows = UnsafeRawPointer(patches)
        // Each pooled output's gradient, 0 where the ReLU blocked it (selects, no branches).
        if let reluOutput {
            for i in 0..<(outputChannels * pooled) { factors[i] = reluOutput[i] > 0 ? gradient[i] : 0 }
        } else {
            factors.update(from: gradient, count: outputChannels * pooled)
        }
        // The patch is cut into blocks of eight vectors, then one of four (four chains in flight
        // instead of one at a time), then single vectors,
        // each summed in registers over all pooled outputs; every channel takes a block before the
        // next block starts, so that the patches' columns under it (positions × block, 147 KB for
        // the MNIST CNN's second layer with AVX2) can stay in L2 while the channels gather from
        // them; channel by channel, each read all the patches (663 KB, more than Zen 3's 512 KB
        // L2). On Zen 3 this order and the four-vector block ran that layer's gradient 1.13–1.18×
        // as fast (old and new timed in alternation in one process). Every element sums the same
        // terms in the same order either way.
        var l = 0
        while l + 8 * lanes <= patch {
            for o in 0..<outputChannels { sumBlock(M.self, eight: true, l, o, argmax, pooled, rows, patch, dweight, accumulate, factors) }
            l += 8 * lanes
        }
        if l + 4 * lanes <= patch {
            for o in 0..<outputChannels { sumBlock(M.self, eight: false, l, o, argmax, pooled, rows, patch, dweight, accumulate, factors) }
            l += 4 * lanes
        }
        // Then a vector at a time; the last places as one vector that reads on into the next
        // row (or the slack after the last), of which only those places are kept.
        while l < patch {
            let kept = min(lanes, patch - l)
            for o in 0..<outputChannels {
                let (f, sources) = (factors + o * pooled, argmax + o * pooled)
                var s = V()
                if accumulate { for k in 0..<kept { s[k] = dweight[o * patch + l + k] } }
                for p in 0..<pooled {
                    s = M.multiplyAdd(s, V(repeating: f[p]),
                                      rows.loadUnaligned(fromByteOffset: (Int(sources[p]) * patch + l) * 4, as: V.self))
                }
                if kept == lanes {
                    UnsafeMutableRawPointer(dweight).storeBytes(of: s, toByteOffset: (o * patch + l) * 4, as: V.self)
                } else {
                    for k in 0..<kept { dweight[o * patch + l + k] = s[k] }
                }
            }
            l += kept
        }
    }

    /// dweight[o, l ..< l + 8 or 4 vectors] (+)= Σ_p factor[o, p] · patches[argmax[o, p], same
    /// places]: eight accumulators in flight, or four (`eight` is a constant at each call, so the
    /// unused four fold away).
    @inlinable @inline(__always)
    static func sumBlock<M: MultiplyAdd>(_: M.Type, eight: Bool, _ l: Int, _ o: Int, _ argmax: UnsafePointer<Int32>,
                                         _ pooled: Int, _ rows: UnsafeRawPointer, _ patch: Int,
                                         _ dweight: UnsafeMutablePointer<Float>, _ accumulate: Bool,
                                         _ factors: UnsafePointer<Float>) {
        typealias V = M.Vector
        let lanes = V.scalarCount
        let (f, sources) = (factors + o * pooled, argmax + o * pooled)
        let target = UnsafeMutableRawPointer(dweight + o * patch + l)
        func initial(_ k: Int) -> V { accumulate ? target.loadUnaligned(fromByteOffset: k * lanes * 4, as: V.self) : V() }
        var (s0, s1, s2, s3) = (initial(0), initial(1), initial(2), initial(3))
        var (s4, s5, s6, s7) = eight ? (initial(4), initial(5), initial(6), initial(7)) : (V(), V(), V(), V())
        for p in 0..<pooled {
            let factor = V(repeating: f[p])
            let row = (Int(sources[p]) * patch + l) * 4
            func term(_ k: Int) -> V { rows.loadUnaligned(fromByteOffset: row + k * lanes * 4, as: V.self) }
            s0 = M.multiplyAdd(s0, factor, term(0)); s1 = M.multiplyAdd(s1, factor, term(1))
            s2 = M.multiplyAdd(s2, factor, term(2)); s3 = M.multiplyAdd(s3, factor, term(3))
            if eight {
                s4 = M.multiplyAdd(s4, factor, term(4)); s5 = M.multiplyAdd(s5, factor, term(5))
                s6 = M.multiplyAdd(s6, factor, term(6)); s7 = M.multiplyAdd(s7, factor, term(7))
            }
        }
        func store(_ s: V, _ k: Int) { target.storeBytes(of: s, toByteOffset: k * lanes * 4, as: V.self) }
        store(s0, 0); store(s1, 1); store(s2, 2); store(s3, 3)
        if eight { store(s4, 4); store(s5, 5); store(s6, 6); store(s7, 7) }
    }
}
