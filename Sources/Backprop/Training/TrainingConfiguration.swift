/// Everything about a training run except the model, loss, optimizer and data.
public struct TrainingConfiguration: Sendable {
    /// Passes over the training set.
    public var epochs: Int
    /// Samples per optimizer step (the last batch of an epoch may be smaller).
    public var batchSize: Int
    /// Reorder the training set at the start of every epoch.
    public var shuffle: Bool
    /// How the learning rate evolves, relative to the optimizer's rate at the start.
    public var schedule: LearningRateSchedule
    /// Rescale gradients whose joint L2 norm exceeds this before each step.
    public var gradientClipNorm: Double?
    /// Stop after this many epochs without a better validation metric (needs validation data).
    public var earlyStoppingPatience: Int?
    /// The validation figure that decides the best epoch, early stopping and plateau schedules.
    public var monitor: Monitor
    /// With validation data, end with the weights of the best epoch rather than the last.
    public var restoreBestWeights: Bool
    /// Threads per kernel call.
    public var threads: Int
    /// The GEMM implementation.
    public var kernels: KernelPath
    /// Samples per forward pass when evaluating.
    public var evaluationBatchSize: Int
    /// Parts each batch is cut into, whose gradients are computed one by one and added in a fixed
    /// order (``ShardTree``): what data-parallel ranks divide among themselves. The same shards give
    /// the same weights, bit for bit, on any number of ranks that fits them; 1 computes each batch
    /// in one pass (fastest alone).
    public var shards: Int
    /// Column groups of the training inputs that hold piecewise-linear encodings, for a faster
    /// dense first layer (``ThermometerColumns``); nil: every column is multiplied.
    public var thermometerInput: ThermometerColumns?

    /// The figure that defines "better" on validation data.
    public enum Monitor: String, Sendable, Codable {
        /// Lower validation loss is better.
        case loss
        /// Higher validation accuracy is better (classification only).
        case accuracy
    }

    public init(epochs: Int = 10, batchSize: Int = 64, shuffle: Bool = true,
                schedule: LearningRateSchedule = .constant, gradientClipNorm: Double? = nil,
                earlyStoppingPatience: Int? = nil, monitor: Monitor = .loss, restoreBestWeights: Bool = true,
                threads: Int = ExecutionContext.availableProcessors, kernels: KernelPath = .best,
                evaluationBatchSize: Int = 500, shards: Int = 1) {
        precondition(epochs >= 1 && batchSize >= 1 && threads >= 1 && evaluationBatchSize >= 1,
                     "TrainingConfiguration: epochs, batch sizes and threads must be positive")
        self.epochs = epochs
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.schedule = schedule
        self.gradientClipNorm = gradientClipNorm
        self.earlyStoppingPatience = earlyStoppingPatience
        self.monitor = monitor
        self.restoreBestWeights = restoreBestWeights
        self.threads = threads
        self.kernels = kernels
        self.evaluationBatchSize = evaluationBatchSize
        self.shards = shards
    }
}
