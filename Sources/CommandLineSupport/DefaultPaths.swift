import Foundation

/// Where the tools find what they ship (the pretrained models, the datasets `data/fetch` fills)
/// whether they run inside the repository, through `swift run`, or installed on `PATH` by
/// `Tools/install.sh`, and the one rule every command uses to choose its model.
public enum DefaultPaths {
    /// An environment variable naming a folder of model files, searched before the installed and
    /// repository folders.
    public static let modelDirectoryVariable = "BACKPROP_MODELS"

    /// The folder of the running executable, with symbolic links resolved. On Linux it comes from
    /// `/proc/self/exe`, because `argv[0]` is only the bare name when the tool was found on `PATH`.
    public static var executableDirectory: URL {
        let link = URL(fileURLWithPath: "/proc/self/exe")
        let executable = FileManager.default.fileExists(atPath: link.path)
            ? link.resolvingSymlinksInPath()
            : URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return executable.deletingLastPathComponent()
    }

    /// `relativePath` (like `data/mnist`) under the current directory if it exists there, else
    /// under the nearest ancestor of the executable's folder that has it (a build inside the
    /// repository); `relativePath` unchanged otherwise, so that errors name what the user expects.
    public static func resolve(_ relativePath: String) -> String {
        let manager = FileManager.default
        if manager.fileExists(atPath: relativePath) { return relativePath }
        var directory = executableDirectory
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent(relativePath).path
            if manager.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return relativePath
    }

    /// The folders searched for a shipped model, in order: `$BACKPROP_MODELS`, the installed
    /// `share/backprop/models` beside the executable's `bin`, then `data/models` in the repository
    /// the executable was built in (up to six folders above it).
    public static func shippedModelFolders(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var folders: [String] = []
        if let folder = environment[modelDirectoryVariable], !folder.isEmpty { folders.append(folder) }
        let executable = executableDirectory
        folders.append(executable.deletingLastPathComponent().appendingPathComponent("share/backprop/models").path)
        var directory = executable
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent("data/models")
            if FileManager.default.fileExists(atPath: candidate.path) {
                folders.append(candidate.path)
                break
            }
            directory.deleteLastPathComponent()
        }
        return folders
    }
}

/// The model a command reads when it is not given `--model`, decided by one rule for every
/// command of both tools:
///
/// 1. `NAME` in the current folder, which is what `train` writes when not given `--output`, so
///    that "train, then evaluate" evaluates the model just trained;
/// 2. otherwise the shipped model `NAME` in the first of `DefaultPaths.shippedModelFolders()`
///    that has it.
///
/// The command says on stderr which file it chose; when there is none, the error lists every
/// place looked at and says to pass `--model PATH`.
public struct ModelChoice: Sendable, Equatable {
    /// The file name, both of `train`'s default output and of the shipped model.
    public let name: String

    public init(name: String) { self.name = name }

    /// Why no model could be chosen.
    public struct NotFound: Error, CustomStringConvertible {
        public let name: String
        public let searched: [String]
        public var description: String {
            "no model given and no \(name) found (looked for: \(searched.joined(separator: ", "))); "
                + "pass --model PATH, or train one"
        }
    }

    /// The path to read and a note for stderr saying where it came from: `given` as it is when
    /// the user named a file (no note), else the rule above.
    public func resolve(given: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(NotFound) -> (path: String, note: String?) {
        if let given { return (given, nil) }
        let manager = FileManager.default
        if manager.fileExists(atPath: name) {
            return (name, "model: \(name) (in this folder, where train writes it; --model chooses another)")
        }
        let candidates = DefaultPaths.shippedModelFolders(environment: environment).map { $0 + "/" + name }
        if let found = candidates.first(where: { manager.fileExists(atPath: $0) }) {
            return (found, "model: \(found) (the shipped model; --model chooses another)")
        }
        throw NotFound(name: name, searched: ["./" + name] + candidates)
    }
}

/// `choice.resolve(given:)` for a command: the path, after printing on stderr where it came from.
public func chooseModel(given: String?, _ choice: ModelChoice) throws(ModelChoice.NotFound) -> String {
    let (path, note) = try choice.resolve(given: given)
    if let note { Console.error(note) }
    return path
}
