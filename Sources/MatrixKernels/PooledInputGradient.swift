// Legend: o an output channel, p a pooled output of its plane, l a place in a patch (c·k·k of
// them), r a run of a window (see `PooledWeightGradient.Window`).

/// A pooled convolution's input gradient from the positions the pooling passed gradient to:
///
///     inputGradient[origins[o, p] + place(l)] += g[o, p] · weight[o, l]   for every o, p, l
///
/// Behind a max-pool, the gradient at the convolution's output is zero except at each window's
/// maximum, so the dense product `weightᵀ · dconv` (and col2im after it) would spend three in four
/// of its multiply-adds on zeros (2×2 pool); this adds the one that counts, per pooled output, to
/// the input positions under its patch. `inputGradient` is channels-last with its padding, as
/// `PooledWeightGradient` reads the input, and `weight` has the places in the same order (kernel
/// row, kernel column, channel).
///
/// Each element receives its terms in a fixed order (group by group, channel by channel, pooled
/// outputs in order), whatever the thread count; it equals the dense product and col2im up to
/// rounding.
public enum PooledInputGradient {
    /// See the type's description. `factors` and `origins` are `[oc, pooled]`, as
    /// `PooledWeightGradient.run` takes them (`factors` as it leaves them: the pooled gradients, 0
    /// where a ReLU blocked them); `weight` `[oc, window.patch]`; `inputGradient` is added to and
    /// must be readable (not written) for a vector's lanes past each run's end.
    ///
    /// The pooled outputs are taken `group` at a time (a row of pooled outputs), so that the part
    /// of `inputGradient` under a group stays in L1 while every channel adds to it. Each term loads,
    /// adds to and stores its target. Summing first, in registers, the channels whose maxima share
    /// a position (sorted per pooled output) stored far less, but the sorting took about half of
    /// this kernel's time, and the MNIST CNN's second layer's backward was no faster (13.7–14.5 ms
    /// per batch of 64 against 13.1–13.4, `bench --profile cnn`, Zen 3).
    @inlinable
    public static func run<M: MultiplyAdd>(_: M.Type, factors: UnsafePointer<Float>, origins: UnsafePointer<Int32>,
                                          outputChannels: Int, pooled: Int, group: Int, weight: UnsafePointer<Float>,
                                          window: PooledWeightGradient.Window,
                                          inputGradient: UnsafeMutablePointer<Float>) {
        let lanes = M.Vector.scalarCount
        let patch = window.patch
        for first in stride(from: 0, to: pooled, by: max(1, group)) {
            let terms = first..<min(pooled, first + max(1, group))
            for o in 0..<outputChannels {
                for run in 0..<window.runs {
                    RunBlocks.forEach(length: window.length, lanes: lanes) { count, lastKept, j in
                        addBlock(M.self, count: count, lastKept: lastKept,
                                 weight: weight + o * patch + run * window.length + j,
                                 factors: factors + o * pooled, origins: origins + o * pooled, terms: terms,
                                 target: inputGradient + run * window.stride + j)
                    }
                }
            }
        }
    }

    /// For p in `terms`: target[origins[p] + 0 ..< count vectors] += factors[p] · weight[0 ..< count
    /// vectors], the weight's vectors held in registers; of the last vector only `lastKept` lanes
    /// are read from `weight` and written to `target`.
    @inlinable @inline(__always)
    static func addBlock<M: MultiplyAdd>(_: M.Type, count: Int, lastKept: Int, weight: UnsafePointer<Float>,
                                         factors: UnsafePointer<Float>, origins: UnsafePointer<Int32>,
                                         terms: Range<Int>, target: UnsafeMutablePointer<Float>) {
        typealias V = M.Vector
        let lanes = V.scalarCount
        func weightVector(_ k: Int) -> V {
            k < count ? RunBlocks.load(weight, vector: k, count: count, lastKept: lastKept) : V()
        }
        let (w0, w1, w2, w3) = (weightVector(0), weightVector(1), weightVector(2), weightVector(3))
        let (w4, w5, w6, w7) = (weightVector(4), weightVector(5), weightVector(6), weightVector(7))
        for p in terms {
            let factor = V(repeating: factors[p])
            let base = target + Int(origins[p])
            let raw = UnsafeMutableRawPointer(base)
            func add(_ w: V, _ k: Int) {
                guard k < count else { return }
                let sum = M.multiplyAdd(raw.loadUnaligned(fromByteOffset: k * lanes * 4, as: V.self), factor, w)
                RunBlocks.store(sum, base, vector: k, count: count, lastKept: lastKept)
            }
            add(w0, 0); add(w1, 1); add(w2, 2); add(w3, 3)
            add(w4, 4); add(w5, 5); add(w6, 6); add(w7, 7)
        }
    }
}
