/// The CPU's multiply-add peak, measured: twelve independent chains of `acc = acc + a·b`, enough
/// to keep two FMA pipes of four-cycle latency busy, with nothing else in the loop. A GEMM or a
/// training step is judged against what this reaches on the same vector width.
public enum FMAPeak {
    /// Multiply-adds (2 flops each per lane) one round of ``run(_:rounds:)`` performs per lane.
    public static let multiplyAddsPerRound = 12

    /// Runs `rounds` rounds and returns a value that depends on all of them (so that none is
    /// optimised away).
    @inlinable
    public static func run<M: MultiplyAdd>(_: M.Type, rounds: Int) -> Float {
        var (a0, a1, a2, a3) = (M.Vector(repeating: 0), M.Vector(repeating: 0.1), M.Vector(repeating: 0.2), M.Vector(repeating: 0.3))
        var (a4, a5, a6, a7) = (M.Vector(repeating: 0.4), M.Vector(repeating: 0.5), M.Vector(repeating: 0.6), M.Vector(repeating: 0.7))
        var (a8, a9, a10, a11) = (M.Vector(repeating: 0.8), M.Vector(repeating: 0.9), M.Vector(repeating: 1), M.Vector(repeating: 1.1))
        // Close to 1 and 0, so that the chains neither overflow nor go subnormal.
        let (x, y) = (M.Vector(repeating: 0.999_999), M.Vector(repeating: 1e-7))
        for _ in 0..<rounds {
            a0 = M.multiplyAdd(a0, x, y); a1 = M.multiplyAdd(a1, x, y); a2 = M.multiplyAdd(a2, x, y)
            a3 = M.multiplyAdd(a3, x, y); a4 = M.multiplyAdd(a4, x, y); a5 = M.multiplyAdd(a5, x, y)
            a6 = M.multiplyAdd(a6, x, y); a7 = M.multiplyAdd(a7, x, y); a8 = M.multiplyAdd(a8, x, y)
            a9 = M.multiplyAdd(a9, x, y); a10 = M.multiplyAdd(a10, x, y); a11 = M.multiplyAdd(a11, x, y)
        }
        return ((a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7) + (a8 + a9) + (a10 + a11)).sum()
    }
}
