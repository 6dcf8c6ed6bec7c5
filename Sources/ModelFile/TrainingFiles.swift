import Foundation
import Synchronization

/// The files of one training run: the model written to `output` and one checkpoint per network
/// beside it. Both applications train through it, so the rules that keep a user's models safe
/// are written once:
///
/// - a run that is not resuming refuses to start where another run's checkpoints lie (it would
///   replace them), and `--resume` needs at least one;
/// - a checkpoint that cannot be written is reported once, and training goes on;
/// - the model replaces `output` only once at least one epoch has finished (`shouldSave`), so
///   stopping a run early never swaps a trained model for an untrained one;
/// - the checkpoints are removed only when the run completes.
public final class TrainingFiles: Sendable {
    public let output: String
    /// `output.checkpoint` for one network; `output.checkpoint-1`, `-2`, ... for an ensemble.
    public let checkpoints: [String]
    private let checkpointFailureReported = Atomic<Bool>(false)

    public init(output: String, networks: Int = 1) {
        self.output = output
        checkpoints = networks == 1 ? [output + ".checkpoint"] : (1...networks).map { output + ".checkpoint-\($0)" }
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

    /// Writes network `index`'s checkpoint; a failure is reported through `report` the first
    /// time only, and training goes on (the next epoch tries again).
    public func save(_ checkpoint: TrainingCheckpoint, network index: Int = 0, report: (String) -> Void) {
        do {
            try checkpoint.save(to: checkpoints[index])
        } catch {
            if !checkpointFailureReported.exchange(true, ordering: .relaxed) {
                report("cannot write the checkpoint \(error); training goes on, but --resume will start from an older state")
            }
        }
    }

    /// Whether the run has something better than nothing to save: at least one finished epoch in
    /// one network (counting epochs restored from checkpoints).
    public static func shouldSave(epochsCompleted: [Int]) -> Bool { epochsCompleted.contains { $0 > 0 } }

    /// Removes the checkpoints (after a completed run).
    public func removeCheckpoints() {
        for checkpoint in checkpoints { try? FileManager.default.removeItem(atPath: checkpoint) }
    }
}
