import Synchronization

/// Data-parallel training over several processes ("ranks"), each holding the same network: every
/// rank computes the gradient of its share of each global batch, the shares are summed across the
/// ranks, and every rank takes the same optimizer step. The transport (MPI, in the tools) is given
/// as closures, so the engine needs none.
///
/// What keeps the ranks in step with each other and with one process:
/// - the same shuffle on every rank (one seed, one generator);
/// - each rank augments and draws dropout masks from the whole batch's random stream but computes
///   only its rows (``BatchShare``), so every image gets the distortion and mask it would get in
///   one process;
/// - a fixed reduction order: every batch is cut into ``TrainingConfiguration/shards`` shards,
///   whatever the number of ranks; each shard's gradient is computed on its own and the shards'
///   gradients are added in one fixed pairwise order (``ShardTree``), within a rank and across
///   ranks alike. So N ranks compute, bit for bit, what one process computes with the same shards;
/// - the losses, the stop request (Ctrl-C on any rank) and validation figures travel as
///   per-shard or per-batch entries with one contributor each, so their sums are exact and every
///   rank decides the same.
///
/// BatchNorm needs the whole batch's statistics at once: a BatchNorm network trains with one shard
/// per rank and sums its statistics over the ranks (synchronised batch normalisation). That is
/// the same arithmetic as one process up to float rounding, not bit for bit.
public struct DataParallel: Sendable {
    public let rank: Int
    public let size: Int
    /// Replaces the values with their element-wise sum over every rank (identical on every rank).
    public let sumDoubles: @Sendable (UnsafeMutableBufferPointer<Double>) -> Void
    /// Replaces the values with rank 0's.
    public let broadcast: @Sendable (UnsafeMutableBufferPointer<Float>) -> Void
    /// Replaces the bytes with rank 0's, whatever their count on the other ranks (files read by
    /// rank 0 alone, such as a checkpoint).
    public let broadcastBytes: @Sendable (inout [UInt8]) -> Void
    /// All-to-all: `send` holds one consecutive piece per rank, `counts[j]` elements for rank j;
    /// `receive` gets every rank's piece for this rank, `counts[rank]` elements each, in rank order.
    public let allToAll: @Sendable (_ send: UnsafeBufferPointer<Float>, _ counts: [Int],
                                    _ receive: UnsafeMutableBufferPointer<Float>) -> Void
    /// All-gather: every rank gives `counts[rank]` elements; `receive` gets all of them in rank order.
    public let allGather: @Sendable (_ send: UnsafeBufferPointer<Float>, _ counts: [Int],
                                     _ receive: UnsafeMutableBufferPointer<Float>) -> Void
    /// What ``sumInOrder(_:tree:)`` receives, kept between calls.
    private let pieces = ScratchBuffer()

    public init(rank: Int, size: Int,
                sumDoubles: @escaping @Sendable (UnsafeMutableBufferPointer<Double>) -> Void,
                broadcast: @escaping @Sendable (UnsafeMutableBufferPointer<Float>) -> Void,
                broadcastBytes: @escaping @Sendable (inout [UInt8]) -> Void,
                allToAll: @escaping @Sendable (UnsafeBufferPointer<Float>, [Int], UnsafeMutableBufferPointer<Float>) -> Void,
                allGather: @escaping @Sendable (UnsafeBufferPointer<Float>, [Int], UnsafeMutableBufferPointer<Float>) -> Void) {
        precondition(size >= 1 && (0..<size).contains(rank), "DataParallel: rank \(rank) of \(size)")
        (self.rank, self.size, self.sumDoubles) = (rank, size, sumDoubles)
        (self.broadcast, self.broadcastBytes, self.allToAll, self.allGather) = (broadcast, broadcastBytes, allToAll, allGather)
    }

    /// Whether this is rank 0, the one that prints, writes checkpoints and saves the model.
    public var isLead: Bool { rank == 0 }

    /// The part of `count` items (shards, evaluation batches) that `rank` takes: a contiguous
    /// range, the ranks' ranges covering `0 ..< count` in rank order.
    public func share(of count: Int, rank: Int? = nil) -> Range<Int> {
        let rank = rank ?? self.rank
        return (count * rank / size)..<(count * (rank + 1) / size)
    }

    /// Sums `values` over every rank in place (a convenience over ``sumDoubles``).
    public func sum(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { sumDoubles($0) }
    }

    /// Replaces `partial`, this rank's sum over its shards (a node of `tree`), with the sum over
    /// every shard of the batch, added in `tree`'s order: the same bits on every rank, and the same
    /// as one process summing all the shards. Moves what an allreduce moves (a reduce-scatter by
    /// all-to-all, then an all-gather): each rank combines one slice of the buffer.
    public func sumInOrder(_ partial: inout [Float], tree: ShardTree) {
        let counts = (0..<size).map { share(of: partial.count, rank: $0).count }
        let width = counts[rank]
        let ranges = (0..<size).map { tree.ranges(ofRank: $0, ranks: size) }
        pieces.buffer.withLock { buffer in
            // Kept from step to step: a fresh gradient-sized buffer per step costs page faults.
            if buffer.count < width * size { buffer = [Float](repeating: 0, count: width * size) }
            buffer.withUnsafeMutableBufferPointer { buffer in
                let pieces = buffer.baseAddress!
                // Rank i's piece of this rank's slice is the partial sum over rank i's shards.
                partial.withUnsafeBufferPointer { allToAll($0, counts, UnsafeMutableBufferPointer(start: pieces, count: width * size)) }
                // Adds the pieces in the tree's order, in place: a node's sum goes to the piece of
                // the first rank under it. Returns that rank.
                func combine(_ node: Range<Int>) -> Int {
                    if let owner = ranges.firstIndex(of: node) { return owner }
                    precondition(node.count > 1, "DataParallel.sumInOrder: shard \(node.lowerBound) belongs to no rank's node")
                    let middle = (node.lowerBound + node.upperBound) / 2
                    let (left, right) = (combine(node.lowerBound..<middle), combine(middle..<node.upperBound))
                    let (sum, addend) = (pieces + left * width, UnsafePointer(pieces + right * width))
                    for i in 0..<width { sum[i] += addend[i] }
                    return left
                }
                let root = combine(0..<tree.count)
                partial.withUnsafeMutableBufferPointer {
                    allGather(UnsafeBufferPointer(start: pieces + root * width, count: width), counts, $0)
                }
            }
        }
    }

    /// Runs `body`, which each rank does on its own and which may fail on some ranks only
    /// (reading its data), then agrees with the other ranks on the outcome: a collective, which
    /// every rank must reach. If any rank failed, every rank throws: the lowest failed rank its
    /// error, as ``DataParallelFailure/here(rank:error:otherFailedRanks:)``, which names the rank,
    /// and the others ``DataParallelFailure/elsewhere`` (to exit without a second message).
    public func together<T>(_ body: () throws -> T) throws -> T {
        let outcome = Result { try body() }
        var failed = [Double](repeating: 0, count: size)
        if case .failure = outcome { failed[rank] = 1 }
        sum(&failed)
        let failedRanks = failed.indices.filter { failed[$0] > 0 }
        guard let first = failedRanks.first else { return try outcome.get() }
        guard case let .failure(error) = outcome, first == rank else { throw DataParallelFailure.elsewhere }
        throw DataParallelFailure.here(rank: rank, error: error, otherFailedRanks: Array(failedRanks.dropFirst()))
    }

    /// `group.together(body)`, or `body()` for a process alone (nil group).
    public static func together<T>(_ group: DataParallel?, _ body: () throws -> T) throws -> T {
        guard let group else { return try body() }
        return try group.together(body)
    }

    /// Checks that every rank has the same `value` (its data's checksum, its settings), with a
    /// failure from ``together(_:)`` naming the first rank that differs from rank 0.
    public func requireSame(_ value: String, what: String) throws {
        var lead = Array(value.utf8)
        broadcastBytes(&lead)
        let leadValue = String(decoding: lead, as: UTF8.self)
        try together {
            guard leadValue == value else {
                throw DataParallelMismatch(what: what, lead: leadValue, here: value)
            }
        }
    }
}

/// Where one rank's rows sit in a training batch: what steps with randomness or batch statistics
/// need to act as they would on the whole batch.
public struct BatchShare: Sendable {
    /// The first row of this call in the whole batch.
    public let offset: Int
    /// Rows in the whole batch.
    public let total: Int
    /// The ranks whose rows make up the rest of the batch, when BatchNorm must sum its statistics
    /// over them (nil: the other rows' statistics are not needed).
    public let synchronising: DataParallel?

    public init(offset: Int, total: Int, synchronising: DataParallel? = nil) {
        (self.offset, self.total, self.synchronising) = (offset, total, synchronising)
    }
}

/// The outcome of ``DataParallel/together(_:)`` when a rank failed.
public enum DataParallelFailure: Error, CustomStringConvertible {
    /// This rank failed with `error` (and is the lowest that did).
    case here(rank: Int, error: any Error, otherFailedRanks: [Int])
    /// Another rank failed and reports it; this one should end quietly.
    case elsewhere

    public var description: String {
        switch self {
        case let .here(rank, error, others):
            "rank \(rank): \(error)" + (others.isEmpty ? "" : " (rank\(others.count > 1 ? "s" : "") "
                + others.map(String.init).joined(separator: ", ") + " failed too)")
        case .elsewhere:
            "another rank failed"
        }
    }
}

/// A rank whose inputs differ from rank 0's (data, settings): its gradients would not belong to
/// the same training run.
public struct DataParallelMismatch: Error, CustomStringConvertible {
    public let what: String
    public let lead: String
    public let here: String

    public var description: String { "\(what) differ from rank 0's (\(here) here, \(lead) on rank 0)" }
}

/// A float buffer that a value type keeps between calls, behind a lock so that the type stays
/// `Sendable` (the calls themselves come from one thread).
final class ScratchBuffer: Sendable {
    let buffer = Mutex<[Float]>([])
}
