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

/// Runs the built tool `name` (from the repository root unless `directory` says otherwise) and
/// returns its exit status, stdout and stderr. With `interruptAfter`, sends `signal` (Ctrl-C's
/// SIGINT by default) once stderr shows that text; with `interruptAfterSeconds`, after that delay. With `searchPath`, the tool is not run from the build folder but looked
/// up by name on that `PATH`, as a shell would, with `environment` added.
@discardableResult
public func runTool(_ name: String, _ arguments: [String], interruptAfter marker: String? = nil,
                    interruptAfterSeconds delay: Double? = nil, signal: Int32 = SIGINT,
                    in directory: String? = nil, searchPath: String? = nil,
                    environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    var variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    if let searchPath {
        variables["PATH"] = searchPath
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Started as a shell starts it: Ctrl-C and the stop signals unblocked and at their default
        // handling (the test runner's threads block some, and the mask survives exec).
        process.arguments = ["--default-signal=INT,TERM,HUP", name] + arguments
    } else {
        process.executableURL = URL(fileURLWithPath: productsDirectory + "/" + name)
        process.arguments = arguments
    }
    process.environment = variables
    process.currentDirectoryURL = URL(fileURLWithPath: directory ?? repositoryRoot)
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    if let delay {
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { kill(pid, signal) }
    }
    var errorText = ""
    if let marker {
        while process.isRunning {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            errorText += String(decoding: chunk, as: UTF8.self)
            if errorText.contains(marker) {
                kill(process.processIdentifier, signal)
                break
            }
        }
    }
    let outputText = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    errorText += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, outputText, errorText)
}

/// Runs `executable` with `arguments` from the repository root and returns its exit status and
/// its stdout and stderr together, in the order they were written (for scripts whose whole
/// transcript is the useful failure message).
public func runMerged(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

/// `python3 script arguments...` (the script's path from the repository root), as ``runMerged(_:_:)``.
public func runPython(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    try runMerged("/usr/bin/env", ["python3", repositoryRoot + "/" + script] + arguments)
}

/// Whether `relativePath` (from the repository root) exists, or the run is under CI, where a
/// missing prerequisite must fail rather than skip. For `.enabled(if:)` traits, so that runs
/// without the data report the test as skipped, with the reason, instead of as passed.
public func present(_ relativePath: String) -> Bool {
    runningUnderCI || FileManager.default.fileExists(atPath: repositoryRoot + "/" + relativePath)
}

/// The datasets `data/fetch` provides, as test conditions (see `present`).
public let mnistPresent = present("data/mnist/t10k-images-idx3-ubyte.gz")
public let californiaPresent = present("data/california-housing/housing.csv")
public let digitsRealPresent = present("data/digits-real/labels.csv")

/// python3 with numpy and safetensors, or a CI run (where their absence is a failure).
public let pythonSafetensorsPresent: Bool = {
    if runningUnderCI { return true }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import numpy, safetensors"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

/// Runs the built tool `name` with its stdout going to `/dev/full` (every write fails with ENOSPC)
/// or, with `closedPipe`, to a pipe whose reading end is already closed (EPIPE). Returns the exit
/// status and stderr.
public func runToolWithBrokenStdout(_ name: String, _ arguments: [String],
                                    closedPipe: Bool = false) throws -> (status: Int32, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: productsDirectory + "/" + name)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    let errors = Pipe()
    process.standardError = errors
    let pipe = Pipe()
    if closedPipe {
        process.standardOutput = pipe
    } else {
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
    }
    try process.run()
    if closedPipe { try pipe.fileHandleForReading.close() }
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, errorText)
}

/// Open MPI's `mpirun` on the PATH, or a CI run (which installs it, so its absence is a failure).
public let mpirunPresent: Bool = {
    if runningUnderCI { return true }
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
    return paths.contains { FileManager.default.isExecutableFile(atPath: "\($0)/mpirun") }
}()

/// Runs the built tool `name` as an MPI job: `ranks` ranks with `arguments` each, or, with
/// `perRank`, one rank per argument list (mpirun's "A : B" form, to give ranks different inputs).
/// Single-threaded ranks, oversubscribed so that tests run on any core count; as root, Open MPI
/// also needs to be told that this is allowed. Signals (`interruptAfter`) go to mpirun.
@discardableResult
public func runMPI(_ name: String, ranks: Int = 2, _ arguments: [String], perRank: [[String]]? = nil,
                   interruptAfter marker: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let tool = productsDirectory + "/" + name
    let perRank = perRank ?? Array(repeating: arguments, count: ranks)
    var mpirunArguments = ["--oversubscribe", "--allow-run-as-root"]
    for (index, rankArguments) in perRank.enumerated() {
        if index > 0 { mpirunArguments.append(":") }
        mpirunArguments += ["-np", "1", tool] + rankArguments + ["--threads", "1"]
    }
    return try runTool("mpirun", mpirunArguments, interruptAfter: marker, searchPath: ProcessInfo.processInfo.environment["PATH"])
}
