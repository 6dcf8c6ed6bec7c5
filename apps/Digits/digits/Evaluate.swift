import ArgumentParser
import CommandLineSupport
import DigitsKit
import Foundation
import ModelFile

extension Digits {
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accuracy, per-class precision and recall, and the confusion matrix of a model.",
            discussion: "On the MNIST test set (default: data/mnist) or a folder of labelled PNGs.")

        @OptionGroup var model: ModelOptions
        @OptionGroup var data: DataOptions

        @Flag(help: "With --images: skip MNIST-style normalisation (images already 28×28 white-on-black).")
        var raw = false

        @Flag(help: "Print one JSON object: count, accuracy, confusion, per_class.")
        var json = false

        @Option(help: ArgumentHelp("Also write an HTML report (charts, confusion matrix, misclassified images) here.", valueName: "file.html"))
        var report: String?

        @OptionGroup var threads: ThreadOptions

        func run() throws {
            let modelPath = try model.path()
            if let report {
                try OutputCheck.requireDistinct(report, option: "--report", from: [modelPath])
                try OutputCheck.requireWritable(report, option: "--report")
            }
            let classifier = try DigitClassifier(contentsOf: modelPath)
            let labelled: DigitData
            switch data.source {
            case let .mnist(directory):
                guard classifier.metadata.labels == (0...9).map(String.init) else {
                    throw DigitsError.unsupported(reason: "the model's labels are not the digits 0-9; evaluate it with --images")
                }
                labelled = try MNISTDirectory(directory).test(classifier.preprocessing)
            case let .images(directory):
                labelled = try ImageFolder(directory).load(classifier.preprocessing, labels: classifier.metadata.labels, raw: raw)
                for skipped in labelled.skipped { Console.error("skipped \(skipped)") }
            }
            // Computed once: the text, the JSON and the HTML report show the same numbers.
            let evaluation = classifier.evaluateInDetail(labelled, threads: threads.threads)
            if let report {
                let html = DigitReports.evaluation(evaluation, preprocessing: classifier.preprocessing, model: modelPath,
                                                   data: data.images ?? "the MNIST test set")
                try FileIO.writeAtomically(Array(html.utf8), to: report)
            }
            if json {
                try Console.output(try MetadataJSON.encode(evaluation.report))
            } else {
                try Console.output(evaluation.report.formatted(labels: classifier.metadata.labels))
            }
        }
    }
}
