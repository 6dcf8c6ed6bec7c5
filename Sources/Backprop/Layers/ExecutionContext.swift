import CSystemSupport

/// How forward and backward passes run: training or inference, on how many threads, with which
/// GEMM, and the random stream that dropout (and augmentation) draw from.
public struct ExecutionContext: Sendable {
    /// Training enables dropout; inference makes every layer deterministic.
    public var isTraining: Bool
    /// Upper bound on threads per kernel call; results do not depend on it.
    public var threads: Int
    /// The compiled GEMM to use (the fastest this CPU supports by default).
    public var kernels: KernelPath
    /// The random stream layers draw from during training.
    public var random: RandomGenerator

    public init(isTraining: Bool = false, threads: Int = ExecutionContext.availableProcessors,
                kernels: KernelPath = .best, random: RandomGenerator = RandomGenerator(seed: 0)) {
        precondition(threads >= 1, "threads must be at least 1, got \(threads)")
        _ = AllocatorTuning.applied
        self.isTraining = isTraining
        self.threads = threads
        self.kernels = kernels
        self.random = random
    }

    /// Processors this process may use: the default thread count.
    public static var availableProcessors: Int { Int(backprop_available_processors()) }
}
