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

        @OptionGroup var threads: ThreadOptions

        func run() throws {
            let classifier = try DigitClassifier(contentsOf: try model.path())
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
            let report = classifier.evaluate(labelled, threads: threads.threads)
            if json {
                try Console.output(try MetadataJSON.encode(report))
            } else {
                try Console.output(report.formatted(labels: classifier.metadata.labels))
            }
        }
    }
}
