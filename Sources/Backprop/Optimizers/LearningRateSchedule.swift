#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How the learning rate changes during training, as a factor of the optimizer's base rate.
public enum LearningRateSchedule: Equatable, Sendable, Codable {
    /// The base rate throughout.
    case constant
    /// Multiplied by `factor` after every `epochs` epochs.
    case step(epochs: Int, factor: Float)
    /// Linear warm-up from 0 over `warmupEpochs` (fractions allowed), then a half-cosine decay
    /// to `minimumFactor` at the last step; updated every batch.
    case cosine(warmupEpochs: Double, minimumFactor: Float)
    /// Multiplied by `factor` once the validation metric has not improved for `patience` epochs.
    case reduceOnPlateau(factor: Float, patience: Int)
}

/// Applies a `LearningRateSchedule`, keeping the state that the plateau rule needs.
/// The whole struct is `Codable` so checkpoints can save and restore it.
public struct LearningRateScheduler: Equatable, Sendable, Codable {
    public let schedule: LearningRateSchedule
    public let totalEpochs: Int
    /// The plateau rule's current factor (1 until the first reduction).
    public private(set) var plateauFactor: Float = 1
    private var bestMetric: Double?
    private var epochsWithoutImprovement = 0

    public init(schedule: LearningRateSchedule, totalEpochs: Int) {
        self.schedule = schedule
        self.totalEpochs = max(1, totalEpochs)
    }

    /// The factor for batch `batch` of `batchesPerEpoch` in epoch `epoch` (0-based).
    public func factor(epoch: Int, batch: Int, batchesPerEpoch: Int) -> Float {
        switch schedule {
        case .constant:
            return 1
        case let .step(epochs, factor):
            return powf(factor, Float(epoch / max(1, epochs)))
        case let .cosine(warmupEpochs, minimumFactor):
            let progress = Double(epoch) + Double(batch) / Double(max(1, batchesPerEpoch))
            if progress < warmupEpochs {
                return Float((progress + 1 / Double(max(1, batchesPerEpoch))) / warmupEpochs)
            }
            let span = max(1e-9, Double(totalEpochs) - warmupEpochs)
            let fraction = min(1, (progress - warmupEpochs) / span)
            return minimumFactor + (1 - minimumFactor) * Float((1 + cos(Double.pi * fraction)) / 2)
        case .reduceOnPlateau:
            return plateauFactor
        }
    }

    /// Reports the epoch's validation metric (lower is better); the plateau rule may reduce the rate.
    public mutating func endEpoch(metric: Double) {
        guard case let .reduceOnPlateau(factor, patience) = schedule else { return }
        // An improvement must beat the best by a relative 1e-4, as in PyTorch's default threshold.
        if let best = bestMetric, metric >= best - abs(best) * 1e-4 {
            epochsWithoutImprovement += 1
            if epochsWithoutImprovement > patience {
                plateauFactor *= factor
                epochsWithoutImprovement = 0
            }
        } else {
            bestMetric = metric
            epochsWithoutImprovement = 0
        }
    }
}
