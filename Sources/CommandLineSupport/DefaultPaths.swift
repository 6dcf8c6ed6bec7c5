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
}
