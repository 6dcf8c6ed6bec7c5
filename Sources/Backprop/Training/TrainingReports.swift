/// What one finished epoch did; delivered to the trainer's `onEpoch` callback.
public struct EpochReport: Sendable, Equatable, Codable {
    /// 1-based epoch number.
    public let epoch: Int
    public let epochs: Int
    /// Mean training loss over the epoch's batches (as the weights changed).
    public let trainingLoss: Double
    public let validationLoss: Double?
    /// Fraction correct in [0, 1], for classification losses.
    public let validationAccuracy: Double?
    /// The learning rate at the epoch's last step.
    public let learningRate: Float
    /// Wall time of the epoch, validation included.
    public let seconds: Double
    /// Training samples per second (validation excluded).
    public let samplesPerSecond: Double
    /// Whether this epoch set a new best validation figure.
    public let isBest: Bool
}

/// Progress within an epoch; delivered after every batch to the `onBatch` callback.
public struct BatchProgress: Sendable {
    public let epoch: Int
    public let epochs: Int
    public let batch: Int
    public let batches: Int
    /// Mean training loss of the epoch so far.
    public let runningLoss: Double
    /// Seconds since the epoch started.
    public let elapsed: Double

    /// - Parameters: `epoch` and `batch` count from 1, as printed.
    public init(epoch: Int, epochs: Int, batch: Int, batches: Int, runningLoss: Double, elapsed: Double) {
        (self.epoch, self.epochs, self.batch, self.batches) = (epoch, epochs, batch, batches)
        (self.runningLoss, self.elapsed) = (runningLoss, elapsed)
    }
}

/// How a training run ended.
public struct TrainingSummary: Sendable {
    public enum StopReason: String, Sendable {
        /// All epochs ran.
        case completed
        /// The validation figure stopped improving.
        case earlyStopping
        /// `shouldStop` returned true (e.g. Ctrl-C).
        case interrupted
    }

    public let stopReason: StopReason
    public let epochsCompleted: Int
    /// 1-based epoch whose weights the model holds when best weights were restored.
    public let bestEpoch: Int?
    public let history: [EpochReport]

    public init(stopReason: StopReason, epochsCompleted: Int, bestEpoch: Int?, history: [EpochReport]) {
        (self.stopReason, self.epochsCompleted, self.bestEpoch, self.history) = (stopReason, epochsCompleted, bestEpoch, history)
    }
}

/// Training stopped because a loss, gradient or weight stopped being a finite number.
public struct TrainingDivergedError: Error, CustomStringConvertible {
    /// 1-based epoch and batch of the failing step.
    public let epoch: Int
    public let batch: Int
    /// What became non-finite.
    public let what: String

    public var description: String {
        "training diverged at epoch \(epoch), batch \(batch): \(what); the model keeps the last "
            + "finite weights (try a lower learning rate or gradient clipping)"
    }
}
