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
    /// `factors` is scratch for `pooled` floats.
    @inlinable
    public static func run<M: MultiplyAdd>(_: M.Type, gradient: UnsafePointer<Float>, reluOutput: UnsafePointer<Float>?,
                                          argmax: UnsafePointer<Int32>, outputChannels: Int, pooled: Int,
                                          patches: UnsafePointer<Float>, patch: Int,
                                          dweight: UnsafeMutablePointer<Float>, accumulate: Bool,
                                          factors: UnsafeMutablePointer<Float>) {
        typealias V = M.Vector
        let lanes = V.scalarCount
        let rows = UnsafeRawPointer(patches)
        for o in 0..<outputChannels {
            let (g, sources) = (gradient + o * pooled, argmax + o * pooled)
            // Each pooled output's gradient, 0 where the ReLU blocked it (selects, no branches).
            if let reluOutput {
                let mask = reluOutput + o * pooled
                for p in 0..<pooled { factors[p] = mask[p] > 0 ? g[p] : 0 }
            } else {
                factors.update(from: g, count: pooled)
            }
            let target = UnsafeMutableRawPointer(dweight + o * patch)
            func factor(_ p: Int) -> Float { factors[p] }
            func initial(_ l: Int) -> V { accumulate ? target.loadUnaligned(fromByteOffset: l * 4, as: V.self) : V() }
            var l = 0
            // Eight vectors of the row in registers over all pooled outputs.
            while l + 8 * lanes <= patch {
                var (s0, s1, s2, s3) = (initial(l), initial(l + lanes), initial(l + 2 * lanes), initial(l + 3 * lanes))
                var (s4, s5, s6, s7) = (initial(l + 4 * lanes), initial(l + 5 * lanes), initial(l + 6 * lanes),
                                        initial(l + 7 * lanes))
                for p in 0..<pooled {
                    let f = V(repeating: factor(p))
                    let row = (Int(sources[p]) * patch + l) * 4
                    func term(_ k: Int) -> V { rows.loadUnaligned(fromByteOffset: row + k * lanes * 4, as: V.self) }
                    s0 = M.multiplyAdd(s0, f, term(0)); s1 = M.multiplyAdd(s1, f, term(1))
                    s2 = M.multiplyAdd(s2, f, term(2)); s3 = M.multiplyAdd(s3, f, term(3))
                    s4 = M.multiplyAdd(s4, f, term(4)); s5 = M.multiplyAdd(s5, f, term(5))
                    s6 = M.multiplyAdd(s6, f, term(6)); s7 = M.multiplyAdd(s7, f, term(7))
                }
                func store(_ s: V, _ k: Int) { target.storeBytes(of: s, toByteOffset: (l + k * lanes) * 4, as: V.self) }
                store(s0, 0); store(s1, 1); store(s2, 2); store(s3, 3)
                store(s4, 4); store(s5, 5); store(s6, 6); store(s7, 7)
                l += 8 * lanes
            }
            // Then a vector at a time; the last places as one vector that reads on into the next
            // row (or the slack after the last), of which only those places are kept.
            while l < patch {
                let kept = min(lanes, patch - l)
                var s = V()
                if accumulate { for k in 0..<kept { s[k] = dweight[o * patch + l + k] } }
                for p in 0..<pooled {
                    s = M.multiplyAdd(s, V(repeating: factor(p)),
                                      rows.loadUnaligned(fromByteOffset: (Int(sources[p]) * patch + l) * 4, as: V.self))
                }
                if kept == lanes {
                    target.storeBytes(of: s, toByteOffset: l * 4, as: V.self)
                } else {
                    for k in 0..<kept { dweight[o * patch + l + k] = s[k] }
                }
                l += kept
            }
        }
    }
}
