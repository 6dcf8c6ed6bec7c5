import Backprop
import Foundation
import Synchronization

/// Output conventions shared by the command-line tools: results on stdout, progress and errors
/// on stderr, errors as one line.
public enum Console {
    /// Whether stderr is a terminal (progress bars) or a file/pipe (one line per epoch).
    public static let stderrIsTerminal = isatty(2) == 1

    private static let muted = Atomic<Bool>(false)

    /// From now on, drops what the other functions would write: for the ranks of an MPI job
    /// other than 0, which do the same work and would repeat rank 0's every line. (Errors that
    /// end the process are not written through `Console`, and still appear.)
    public static func mute() { muted.store(true, ordering: .relaxed) }

    /// Writes `text` and a newline to stdout, at once.
    /// - Throws: `CommandLineError` when stdout cannot be written (a full disk, a closed pipe).
    public static func output(_ text: String) throws {
        guard !muted.load(ordering: .relaxed) else { return }
        try StandardStreams.write(Array((text + "\n").utf8), to: 1)
    }

    /// Writes `text` and a newline to stderr. A failure cannot be reported there; it is
    /// remembered, and the tool exits with status 1 (see `StandardStreams.exitIfWritesFailed`).
    public static func error(_ text: String) {
        guard !muted.load(ordering: .relaxed) else { return }
        StandardStreams.writeReportingLater(Array((text + "\n").utf8), to: 2)
    }

    /// Most warnings printed one per line; the rest are counted (a file of 10,000 odd columns
    /// should not bury the result under 10,000 lines).
    public static let warningLines = 20

    /// Writes each warning as "warning: ..." on stderr, at most `warningLines` of them.
    public static func warnings(_ warnings: [String]) {
        for warning in warnings.prefix(warningLines) { error("warning: \(warning)") }
        if warnings.count > warningLines { error("warning: ... and \(warnings.count - warningLines) more warnings") }
    }

    /// Writes `text` to stderr without a newline.
    public static func progress(_ text: String) {
        guard !muted.load(ordering: .relaxed) else { return }
        StandardStreams.writeReportingLater(Array(text.utf8), to: 2)
    }

    /// Compact JSON text for `object` (dictionaries, arrays, strings, numbers, bools, NSNull),
    /// with sorted keys so that output is stable.
    public static func json(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Shows training progress: on a terminal, a bar for the current epoch with the ETA of the whole
/// run, rewritten in place after every batch; otherwise (logs, pipes) one plain line per epoch.
public final class TrainingProgress {
    private let unit: String
    private let mayStopEarly: Bool
    private var lastDraw = 0.0
    /// When this process saw its first batch, and that batch's epoch (a resumed run starts late).
    private var start: (time: Double, epoch: Int)?

    /// - Parameters:
    ///   - unit: what the samples are, for the throughput ("img", "rows").
    ///   - mayStopEarly: early stopping may end the run sooner, so the ETA is an upper bound (≤).
    public init(unit: String, mayStopEarly: Bool = false) {
        self.unit = unit
        self.mayStopEarly = mayStopEarly
    }

    public func batch(_ progress: BatchProgress) {
        guard Console.stderrIsTerminal else { return }
        let now = Date().timeIntervalSinceReferenceDate
        let start = self.start ?? (now - progress.elapsed, progress.epoch)
        self.start = start
        guard now - lastDraw > 0.1 || progress.batch == progress.batches else { return }
        lastDraw = now
        let fraction = Double(progress.batch) / Double(progress.batches)
        let remaining = Self.remainingSeconds(progress, runStartEpoch: start.epoch, elapsed: now - start.time)
        let filled = Int(fraction * 24)
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: 24 - filled)
        Console.progress(String(format: "\repoch %d/%d [%@] %3.0f%%  loss %.4f  ETA %@%@   ",
                                progress.epoch, progress.epochs, bar, fraction * 100, progress.runningLoss,
                                mayStopEarly ? "≤ " : "", TrainingProgress.duration(remaining)))
    }

    /// Seconds left in the whole run, at the pace of the batches this process has run so far
    /// (`elapsed` seconds since the start of epoch `runStartEpoch`).
    public static func remainingSeconds(_ progress: BatchProgress, runStartEpoch: Int, elapsed: Double) -> Double {
        let batches = Double(progress.batches)
        let done = Double(progress.epoch - runStartEpoch) * batches + Double(progress.batch)
        let total = Double(progress.epochs - runStartEpoch + 1) * batches
        guard done > 0 else { return 0 }
        return elapsed / done * (total - done)
    }

    public func epoch(_ report: EpochReport, extra: String = "") {
        if Console.stderrIsTerminal { Console.progress("\r" + String(repeating: " ", count: 79) + "\r") }
        var line = String(format: "epoch %d/%d  loss %.4f", report.epoch, report.epochs, report.trainingLoss)
        if let loss = report.validationLoss { line += String(format: "  validation loss %.4f", loss) }
        if let accuracy = report.validationAccuracy { line += String(format: "  validation accuracy %.2f%%", accuracy * 100) }
        line += String(format: "  lr %.2g  %.1f s  %.0f %@/s", report.learningRate, report.seconds, report.samplesPerSecond, unit)
        Console.error(line + extra + (report.isBest ? "  *" : ""))
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 60 ? "\(total / 60)m\(String(format: "%02d", total % 60))s" : "\(total)s"
    }
}
