import Backprop
import Foundation

/// Output conventions shared by the command-line tools: results on stdout, progress and errors
/// on stderr, errors as one line.
public enum Console {
    /// Whether stderr is a terminal (progress bars) or a file/pipe (one line per epoch).
    public static let stderrIsTerminal = isatty(2) == 1

    /// Writes `text` and a newline to stderr.
    public static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Writes `text` to stderr without a newline.
    public static func progress(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
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

/// Shows training progress: on a terminal, a bar with the epoch's ETA rewritten in place after
/// every batch; otherwise (logs, pipes) one plain line per epoch.
public final class TrainingProgress {
    private let unit: String
    private var lastDraw = 0.0

    /// - Parameter unit: what the samples are, for the throughput ("img", "rows").
    public init(unit: String) { self.unit = unit }

    public func batch(_ progress: BatchProgress) {
        guard Console.stderrIsTerminal else { return }
        let now = Date().timeIntervalSinceReferenceDate
        guard now - lastDraw > 0.1 || progress.batch == progress.batches else { return }
        lastDraw = now
        let fraction = Double(progress.batch) / Double(progress.batches)
        let remaining = progress.elapsed / max(fraction, 1e-9) * (1 - fraction)
        let filled = Int(fraction * 24)
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: 24 - filled)
        Console.progress(String(format: "\repoch %d/%d [%@] %3.0f%%  loss %.4f  ETA %@   ",
                                progress.epoch, progress.epochs, bar, fraction * 100, progress.runningLoss,
                                TrainingProgress.duration(remaining)))
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
