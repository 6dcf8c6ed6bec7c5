// Helpers shared by the test targets: locating the repository and built tools, scratch folders,
// and running a built command-line tool.
import Foundation

/// The repository root (this file is Tests/TestSupport/TestSupport.swift).
public var repositoryRoot: String {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}

/// The folder holding the test bundle and the package's other built products.
public var productsDirectory: String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
}

/// True under CI, where missing prerequisites (data, Python modules) are failures, not skips.
public var runningUnderCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// A fresh, empty folder under the system's temporary directory.
public func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "backprop-tests-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes `text` as UTF-8 to `path`.
public func write(_ text: String, to path: String) {
    precondition(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), "cannot write \(path)")
}

/// Runs the built tool `name` from the repository root and returns its exit status, stdout and
/// stderr. With `interruptAfter`, sends SIGINT (Ctrl-C) once stderr shows that text.
@discardableResult
public func runTool(_ name: String, _ arguments: [String],
                    interruptAfter marker: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: productsDirectory + "/" + name)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    var errorText = ""
    if let marker {
        while process.isRunning {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            errorText += String(decoding: chunk, as: UTF8.self)
            if errorText.contains(marker) {
                kill(process.processIdentifier, SIGINT)
                break
            }
        }
    }
    let outputText = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    errorText += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, outputText, errorText)
}
