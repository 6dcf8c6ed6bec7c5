import CSystemSupport

/// How forward and backward passes run: on how many threads, with which GEMM, and the random
/// stream that training-time dropout draws from. Results never depend on `threads`.
public struct ExecutionContext: Sendable {
    /// Upper bound on threads per kernel call; results do not depend on it.
    public var threads: Int
    /// The compiled GEMM to use (the fastest this CPU supports by default).
    public var kernels: KernelPath
    /// The random stream steps draw from during training (dropout masks).
    public var random: RandomGenerator
    /// In data-parallel training, this rank's share of the batch: dropout draws for the whole
    /// batch and keeps this share, BatchNorm sums its statistics over the ranks, so each row gets
    /// what it would get in one process. Nil: the call is the whole batch.
    public var share: BatchShare?
    /// Column groups of the network's input that hold piecewise-linear encodings: a dense first
    /// layer then multiplies them through a table of prefix sums (``ThermometerColumns``).
    public var thermometerInput: ThermometerColumns?
    /// The batch's rows as terms of that table, when the caller encoded them beforehand (the
    /// trainer encodes its training set once, not every batch); used only by a training pass
    /// whose batch has exactly that many rows, and only by the caller that set it.
    var thermometerTerms: SparseMatrix?
    /// The inference plan's prepared weights; set by ``Network/forward(_:context:)`` for its steps.
    var preparedWeights: PreparedWeights?

    public init(threads: Int = ExecutionContext.availableProcessors, kernels: KernelPath = .best,
                random: RandomGenerator = RandomGenerator(seed: 0)) {
        precondition(threads >= 1, "threads must be at least 1, got \(threads)")
        self.threads = threads
        self.kernels = kernels
        self.random = random
    }

    /// Processors this process may use: the default thread count.
    public static var availableProcessors: Int { Int(backprop_available_processors()) }
}
