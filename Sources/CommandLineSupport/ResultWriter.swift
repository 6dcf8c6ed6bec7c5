import Foundation
import ModelFile
import Synchronization

/// Where a command's results go: stdout, or a file that is replaced atomically when the command
/// succeeds. Writes are buffered; every failure (a full disk, a closed pipe) is an error naming
/// the destination, never a crash or a silent loss.
public final class ResultWriter {
    private let file: AtomicFileWriter?
    private var buffer: [UInt8] = []
    /// Flush once this many bytes are waiting.
    private static let flushSize = 1 << 16

    /// `path` nil: stdout.
    public init(path: String?) throws {
        file = try path.map { path throws(ModelFileError) in try AtomicFileWriter(path: path) }
        if file == nil { StandardStreams.ignoreBrokenPipes() }
        buffer.reserveCapacity(Self.flushSize * 2)
    }

    public func write(_ text: String) throws {
        try write(bytes: text.utf8)
    }

    /// Text already encoded (e.g. a CSV written back in its input's encoding).
    public func write(bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushSize { try flush() }
    }

    /// Writes what is buffered.
    public func flush() throws {
        defer { buffer.removeAll(keepingCapacity: true) }
        if let file {
            try file.write(buffer)
        } else {
            try StandardStreams.write(buffer, to: 1)
        }
    }

    /// Writes the rest and, for a file, puts it in place.
    public func finish() throws {
        try flush()
        try file?.commit()
    }
}

/// Writing to stdout and stderr with errors reported instead of crashes.
public enum StandardStreams {
    /// A closed pipe then fails `write` with EPIPE, which is reported, instead of killing the
    /// process with SIGPIPE before it can say anything.
    public static func ignoreBrokenPipes() { signal(SIGPIPE, SIG_IGN) }

    private static let failed = Atomic<Bool>(false)

    /// Writes to `descriptor`; a failure is not thrown but remembered for `exitIfWritesFailed`.
    public static func writeReportingLater(_ bytes: [UInt8], to descriptor: Int32) {
        do {
            try write(bytes, to: descriptor)
        } catch {
            failed.store(true, ordering: .relaxed)
        }
    }

    /// Ends the process with status 1 if a write to stderr failed along the way, so that a run
    /// whose messages were lost does not look like a success.
    public static func exitIfWritesFailed() {
        if failed.load(ordering: .relaxed) { exit(1) }
    }

    /// Runs a tool's command line: broken pipes reported instead of fatal, and a lost message on
    /// stderr turning success into exit status 1. Tools call it from their `main()`.
    public static func run(_ main: () -> Void) {
        ignoreBrokenPipes()
        main()
        exitIfWritesFailed()
    }

    /// Writes all of `bytes` to `descriptor` (1: stdout, 2: stderr).
    public static func write(_ bytes: [UInt8], to descriptor: Int32) throws {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + done, bytes.count - done) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CommandLineError("cannot write to \(descriptor == 1 ? "stdout" : "stderr"): \(String(cString: strerror(errno)))")
            }
            done += count
        }
    }
}
