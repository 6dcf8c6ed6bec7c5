import Foundation

/// Finds the files a repository ships (like `data/models/digits.safetensors`) whether the tool
/// runs from the repository root or elsewhere via `swift run` / `.build/release/...`.
public enum DefaultPaths {
    /// `relativePath` under the current directory if it exists there, else under the nearest
    /// ancestor of the executable's directory that has it; `relativePath` unchanged otherwise
    /// (so that the error message names the path the user expects).
    public static func resolve(_ relativePath: String) -> String {
        let manager = FileManager.default
        if manager.fileExists(atPath: relativePath) { return relativePath }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent(relativePath).path
            if manager.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return relativePath
    }

    /// The model file a command reads: the shipped one is looked up with `resolve`, so that the
    /// default works from any directory; a path the user gave is taken as it is.
    public static func model(_ given: String, shipped: String) -> String {
        given == shipped ? resolve(given) : given
    }
}
