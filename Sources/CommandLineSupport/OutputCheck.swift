import Foundation

/// A command-line error that is one line of text for the user.
public struct CommandLineError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Checks made on output paths before any work starts, so that a long run never ends by
/// overwriting its own input or failing to write.
public enum OutputCheck {
    /// Throws when `output` is the same file as one of `inputs`: the same device and inode when
    /// both exist (hard links, symbolic links and `./a` versus `a` included), else the same
    /// absolute path.
    public static func requireDistinct(_ output: String, option: String, from inputs: [String]) throws(CommandLineError) {
        for input in inputs where sameFile(output, input) {
            throw CommandLineError("\(option) \(output) is the same file as \(input); choose another output")
        }
    }

    /// Whether the two paths name the same file.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        if stat(a, &first) == 0 && stat(b, &second) == 0 {
            return first.st_dev == second.st_dev && first.st_ino == second.st_ino
        }
        return URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path
    }

    /// Throws unless a file can be created at `path`: its folder exists and is writable, and
    /// `path` itself, if it exists, is a writable regular file.
    public static func requireWritable(_ path: String, option: String) throws(CommandLineError) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw CommandLineError("\(option) \(path) exists and is not a regular file")
            }
            guard access(path, W_OK) == 0 else { throw CommandLineError("\(option) \(path) is not writable") }
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandLineError("\(option) \(path): the folder \(folder) does not exist")
        }
        guard access(folder, W_OK) == 0 else {
            throw CommandLineError("\(option) \(path): the folder \(folder) is not writable")
        }
    }
}
