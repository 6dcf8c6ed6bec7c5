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
        subcommands: [Classify.self, Train.self, Evaluate.self, Inspect.self])

    static let shippedModel = "data/models/digits.safetensors"
}

/// Options shared by the commands that read a model.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Model file.", valueName: "model"))
    var model: String = Digits.shippedModel

    var path: String { DefaultPaths.model(model, shipped: Digits.shippedModel) }
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
