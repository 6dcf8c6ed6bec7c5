import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and crash-safe replacement writes.
public enum FileIO {
    /// Files larger than this are refused before reading (model files are a few MB).
    public static let maximumFileSize = 1 << 31

    /// Reads the whole file at `path`, refusing files above `limit` bytes before allocating.
    /// Only regular files are read: a directory, FIFO, socket or device is an error, and opening
    /// never waits (a FIFO without a writer would block a plain `open` for ever).
    public static func contents(of path: String, limit: Int = maximumFileSize) throws(ModelFileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw .io(path: path, reason: systemError()) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .io(path: path, reason: systemError()) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw .io(path: path, reason: "is a folder, not a file")
        default: throw .io(path: path, reason: "is not a regular file (a FIFO, socket or device)")
        }
        let size = Int(status.st_size)
        guard size <= limit else { throw .io(path: path, reason: "file is \(size) bytes, above the \(limit)-byte limit") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        let failure: String? = bytes.withUnsafeMutableBytes { buffer in
            while done < size {
                let count = read(descriptor, buffer.baseAddress! + done, size - done)
                if count < 0 {
                    if errno == EINTR { continue }
                    return systemError()
                }
                if count == 0 { return "file shrank while being read" }
                done += count
            }
            return nil
        }
        if let failure { throw .io(path: path, reason: failure) }
        return bytes
    }

    /// Replaces the file at `path` with `bytes` so that a crash or kill at any moment leaves
    /// either the old file or the new one, never a mixture: the bytes go to a temporary file in
    /// the same folder, which is flushed to disk and then renamed over `path`.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(ModelFileError) {
        let (directory, temporary) = temporaryPath(for: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(path: path, reason: "cannot create a temporary file: \(systemError())") }
        var failure: String?
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = systemError()
                    return
                }
                done += count
            }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = systemError() }
        if close(descriptor) != 0 && failure == nil { failure = systemError() }
        if failure == nil && rename(temporary, path) != 0 { failure = systemError() }
        if let failure {
            unlink(temporary)
            throw .io(path: path, reason: failure)
        }
        // Persist the rename itself.
        let directoryDescriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    static func systemError() -> String { String(cString: strerror(errno)) }

    /// The folder of `path` and a fresh temporary name beside it, `.NAME.PID.RANDOM.tmp`. Temporary
    /// files of earlier writers to the same `path` whose process no longer exists (killed during a
    /// save) are removed first, so that they do not pile up.
    static func temporaryPath(for path: String) -> (directory: String, temporary: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let folder = directory.isEmpty ? "/" : directory
        let prefix = ".\(name)."
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where entry.hasPrefix(prefix) && entry.hasSuffix(".tmp") {
            let fields = entry.dropFirst(prefix.count).dropLast(4).split(separator: ".")
            guard fields.count == 2, let pid = Int32(fields[0]), UInt32(fields[1]) != nil, pid != getpid(),
                  kill(pid, 0) != 0 && errno == ESRCH else { continue }
            unlink(folder + "/" + entry)
        }
        let temporary = (directory.isEmpty ? "" : directory + "/") + "\(prefix)\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        return (directory, temporary)
    }
}

/// A file written piece by piece that replaces `path` only when `commit()` succeeds: the pieces go
/// to a temporary file in the same folder, which is flushed and renamed over `path`. Until then
/// `path` keeps its old content; a writer dropped without `commit()` removes its temporary file.
public final class AtomicFileWriter {
    public let path: String
    private let temporary: String
    private var descriptor: Int32

    public init(path: String) throws(ModelFileError) {
        self.path = path
        temporary = FileIO.temporaryPath(for: path).temporary
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(path: path, reason: "cannot create a temporary file: \(FileIO.systemError())") }
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws(ModelFileError) {
        guard descriptor >= 0 else { throw .io(path: path, reason: "already committed") }
        let failure: String? = bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let count = Glibc.write(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if count < 0 {
                    if errno == EINTR { continue }
                    return FileIO.systemError()
                }
                done += count
            }
            return nil
        }
        if let failure { throw .io(path: path, reason: failure) }
    }

    /// Flushes the file to disk and renames it over `path`.
    public func commit() throws(ModelFileError) {
        var failure: String?
        if fsync(descriptor) != 0 { failure = FileIO.systemError() }
        if close(descriptor) != 0 && failure == nil { failure = FileIO.systemError() }
        descriptor = -1
        if failure == nil && rename(temporary, path) != 0 { failure = FileIO.systemError() }
        if let failure {
            unlink(temporary)
            throw .io(path: path, reason: failure)
        }
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporary)
        }
    }
}
