import ArgumentParser
import CommandLineSupport

extension Digits {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model file: task, layers with output shapes and parameters, metadata, metrics.")

        @Argument(help: ArgumentHelp("Model file (default: the shipped model).", valueName: "model"))
        var model: String = Digits.shippedModel

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            try ModelInspection.printReport(path: DefaultPaths.model(model, shipped: Digits.shippedModel), json: json)
        }
    }
}
