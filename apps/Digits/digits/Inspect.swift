import ArgumentParser
import CommandLineSupport

extension Digits {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model file: task, layers with output shapes and parameters, metadata, metrics.")

        @Argument(help: ArgumentHelp(Digits.modelHelp, valueName: "model"))
        var model: String?

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            try ModelInspection.printReport(path: try chooseModel(given: model, Digits.modelChoice), json: json)
        }
    }
}
