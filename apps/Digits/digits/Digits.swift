import ArgumentParser
import Backprop
import CommandLineSupport
import DigitsKit
import Foundation
import ModelFile

@main
struct Digits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digits",
        abstract: "Train, run and evaluate a handwritten-digit recogniser (MNIST-style CNN).",
        version: BackpropVersion.current,
        subcommands: [Classify.self, Train.self, Evaluate.self, Inspect.self, Serve.self])

    /// `train`'s default output and the shipped model's name: see `ModelChoice` for the rule.
    static func main() { StandardStreams.run { Self.main(nil) } }

    static let modelChoice = ModelChoice(name: "digits.safetensors")
    static let modelHelp = "Model file (default: ./digits.safetensors, which train writes, if present; else the shipped model)."
}

/// Options shared by the commands that read a model.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(Digits.modelHelp, valueName: "model"))
    var model: String?

    /// The file to read, after saying on stderr which one was chosen when `--model` was not given.
    func path() throws -> String { try chooseModel(given: model, Digits.modelChoice) }
}

/// `--data DIR | --images DIR`.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Folder with the four MNIST IDX files, gzipped or not.", valueName: "dir"))
    var data: String?

    @Option(help: ArgumentHelp("Folder of PNGs in one sub-folder per label (0/, 1/, ...).", valueName: "dir"))
    var images: String?

    func validate() throws {
        if data != nil && images != nil { throw ValidationError("use either --data or --images, not both") }
    }

    var source: DigitSource {
        if let images { return .images(images) }
        return .mnist(data ?? DefaultPaths.resolve("data/mnist"))
    }
}
