import ArgumentParser
import CommandLineSupport
import ModelFile

extension Digits {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model file: task, layers with output shapes and parameters, metadata, metrics.")

        @Argument(help: ArgumentHelp("Model file (default: the shipped model).", valueName: "model"))
        var model: String = Digits.shippedModel

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            let path = model == Digits.shippedModel ? DefaultPaths.resolve(model) : model
            let report = ModelReport(try ModelFile.load(contentsOf: path))
            print(json ? Console.json(report.dictionary) : report.text)
        }
    }
}
