import Foundation
import Synchronization

/// The files of one training run: the model written to `output` and one checkpoint per network
/// beside it. Both applications train through it, so the rules that keep a user's models safe
/// are written once:
///
/// - a run that is not resuming refuses to start where another run's checkpoints lie (it would
///   replace them), and `--resume` needs at least one;
/// - a checkpoint that cannot be written is reported once, and training goes on;
/// - a network's checkpoint is written at most every `checkpointInterval` (each write is flushed
///   to disk; a house-price epoch takes tens of milliseconds, and writing after every one made the
///   default California run take 5.4 s instead of 4.6); the newest one not yet written is kept and
///   written when the network's training returns (`writePendingCheckpoint`), so an interrupted run
///   resumes from each network's last epoch;
/// - the model replaces `output` only once at least one epoch has finished (`shouldSave`), so
///   stopping a run early never swaps a trained model for an untrained one;
/// - the checkpoints are removed only when the run completes.
public final class TrainingFiles: Sendable {
    public let output: String
    /// `output.checkpoint` for one network; `output.checkpoint-1`, `-2`, ... for an ensemble.
    public let checkpoints: [String]
    /// The longest a crash (not an interrupt) can lose of a network's training.
    public let checkpointInterval: Duration
    private let checkpointFailureReported = Atomic<Bool>(false)
    /// Per network: when its checkpoint was last written, and the newest one not written yet.
    private let writes: Mutex<[(written: ContinuousClock.Instant, pending: TrainingCheckpoint?)]>

    public init(output: String, networks: Int = 1, checkpointInterval: Duration = .seconds(2)) {
        self.output = output
        self.checkpointInterval = checkpointInterval
        checkpoints = networks == 1 ? [output + ".checkpoint"] : (1...networks).map { output + ".checkpoint-\($0)" }
        writes = Mutex(Array(repeating: (ContinuousClock.now, nil), count: checkpoints.count))
    }

    /// Why a run cannot start with these files.
    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// The checkpoints that exist now.
    public var existingCheckpoints: [String] { checkpoints.filter { FileManager.default.fileExists(atPath: $0) } }

    /// Checks before any training work: a fresh run must not overwrite another run's checkpoints,
    /// and a resumed run needs one.
    public func checkBeforeTraining(resume: Bool) throws(Refusal) {
        let existing = existingCheckpoints
        if resume {
            guard !existing.isEmpty else {
                throw Refusal(description: "\(checkpoints[0]): no checkpoint to resume from (a run that finished removes it; "
                              + "one stopped before its first epoch ended never wrote one)")
            }
        } else if let first = existing.first {
            throw Refusal(description: "\(first) holds an interrupted run's progress: continue it with --resume and the same "
                          + "options, or delete it (or choose another --output) to start over")
        }
    }

    /// Network `index`'s checkpoint after an epoch: written now when `checkpointInterval` has
    /// passed since the last write, else kept until the next write. A failure is
    /// reported through `report` the first time only, and training goes on (the next write tries
    /// again).
    public func save(_ checkpoint: TrainingCheckpoint, network index: Int = 0, report: (String) -> Void) {
        let due = writes.withLock { writes in
            let due = writes[index].written.duration(to: .now) >= checkpointInterval
            writes[index].pending = due ? nil : checkpoint
            return due
        }
        if due { write(checkpoint, network: index, report: report) }
    }

    /// Writes network `index`'s newest checkpoint if it has not been written yet: when its training
    /// returns, however it ended (a run that does not complete keeps its checkpoints).
    public func writePendingCheckpoint(network index: Int = 0, report: (String) -> Void) {
        let pending = writes.withLock { writes in
            defer { writes[index].pending = nil }
            return writes[index].pending
        }
        if let pending { write(pending, network: index, report: report) }
    }

    private func write(_ checkpoint: TrainingCheckpoint, network index: Int, report: (String) -> Void) {
        do {
            try checkpoint.save(to: checkpoints[index])
        } catch {
            if !checkpointFailureReported.exchange(true, ordering: .relaxed) {
                report("cannot write the checkpoint \(error); training goes on, but --resume will start from an older state")
            }
        }
        writes.withLock { $0[index].written = .now }
    }

    /// Whether the run has something better than nothing to save: at least one finished epoch in
    /// one network (counting epochs restored from checkpoints).
    public static func shouldSave(epochsCompleted: [Int]) -> Bool { epochsCompleted.contains { $0 > 0 } }

    /// Removes the checkpoints (after a completed run).
    public func removeCheckpoints() {
        for checkpoint in checkpoints { try? FileManager.default.removeItem(atPath: checkpoint) }
    }
}
