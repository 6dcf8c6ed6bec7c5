/// How many shards a training run cuts each batch into (``TrainingConfiguration/shards``), from
/// what the user asked, what the checkpoint being resumed used, and the number of ranks:
///
/// - asked for: that, if it fits the ranks (``Trainer/shardingProblem(shards:ranks:layers:)``);
/// - resuming: the checkpoint's, so that the run ends bit for bit where it would have ended
///   uninterrupted, on any number of ranks that fits it;
/// - otherwise: one per rank (1 for a process alone, which computes each batch in one pass).
///
/// A BatchNorm network always takes one shard per rank, and records none: its ranks synchronise
/// batch statistics, which equals one process to rounding rather than bit for bit, on any ranks.
public struct ShardChoice: Sendable, Equatable {
    /// Shards per batch for this run.
    public let shards: Int
    /// What the run's options should record (and a resumed checkpoint must match): nil for one
    /// shard, as before shards existed, and for BatchNorm networks.
    public let recorded: Int?

    public init(requested: Int?, resumed: Int?, ranks: Int, layers: [LayerSpec]) throws(TrainingSetupError) {
        let hasBatchNorm = layers.contains(where: \.isBatchNorm)
        if hasBatchNorm {
            if let requested, requested != ranks {
                throw TrainingSetupError("a BatchNorm network trains with one shard per rank (\(ranks)); --shards \(requested) cannot be used")
            }
            (shards, recorded) = (ranks, nil)
            return
        }
        let shards = requested ?? resumed ?? ranks
        if let problem = Trainer.shardingProblem(shards: shards, ranks: ranks, layers: layers) {
            throw TrainingSetupError((resumed != nil && requested == nil ? "the checkpoint's " : "") + problem)
        }
        (self.shards, recorded) = (shards, shards == 1 ? nil : shards)
    }
}

/// A training run that cannot be set up as asked (its options do not fit together).
public struct TrainingSetupError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
