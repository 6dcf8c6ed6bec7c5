#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The engine's one seeded random source (SplitMix64): it drives weight initialisation,
/// shuffling, dropout and augmentation, so one seed reproduces a whole training run.
///
/// Its entire state is one `UInt64`, which checkpoints save to make resumed runs identical.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable {
    /// The complete generator state.
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), with 24 random bits (every Float in the range is a multiple of 2⁻²⁴).
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform in [lower, upper).
    public mutating func uniform(_ lower: Float, _ upper: Float) -> Float {
        lower + (upper - lower) * nextUnitFloat()
    }

    /// Standard normal (mean 0, deviation 1), by the Box–Muller transform in Double.
    public mutating func normal() -> Float {
        // 1 - u keeps the logarithm's argument in (0, 1].
        let u1 = 1 - Double(next() >> 11) * 0x1p-53
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// A uniformly random index in 0..<upperBound, without modulo bias.
    public mutating func index(below upperBound: Int) -> Int {
        Int(next(upperBound: UInt64(upperBound)))
    }

    /// A generator for an independent stream, derived deterministically from this one.
    public mutating func split() -> RandomGenerator {
        RandomGenerator(seed: next())
    }
}
