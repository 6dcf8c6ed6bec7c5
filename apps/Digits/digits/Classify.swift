import ArgumentParser
import CommandLineSupport
import DigitsKit
import Foundation

extension Digits {
    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Classify PNG images of digits (files, or folders searched for *.png).",
            discussion: """
            Prints "path: label (confidence)" per image. Any PNG works: gray, RGB, palette, \
            alpha, 1-16 bits, interlaced, any size; it is normalised like MNIST (polarity, crop, \
            20×20 fit, centre of mass) unless --raw. An unreadable file gets an error line and \
            the others are still classified; the exit status is 1 if any file failed.
            """)

        @Argument(help: ArgumentHelp("PNG files or folders.", valueName: "image-or-dir"))
        var inputs: [String]

        @OptionGroup var model: ModelOptions

        @Option(help: "Also show the K most likely labels.")
        var top: Int = 1

        @Flag(help: "Skip MNIST-style normalisation: the image is already white-on-black, 28×28 (it is only resized).")
        var raw = false

        @Flag(help: "One JSON object per image and line.")
        var json = false

        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        }

        func run() throws {
            let classifier = try DigitClassifier(contentsOf: model.path)
            var files: [String] = []
            var failures = 0
            for input in inputs {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue {
                    let found = (FileManager.default.enumerator(atPath: input)?.compactMap { $0 as? String } ?? [])
                        .filter { $0.lowercased().hasSuffix(".png") }.sorted().map { input + "/" + $0 }
                    if found.isEmpty {
                        report(file: input, error: "no *.png files in this folder")
                        failures += 1
                    }
                    files += found
                } else {
                    files.append(input)
                }
            }
            for (file, outcome) in classifier.classify(files: files, raw: raw, threads: threads.threads) {
                switch outcome {
                case let .success(result):
                    let ranking = result.ranking.prefix(top)
                    if json {
                        print(Console.json(["file": file, "label": result.label,
                                            "confidence": Double(result.confidence),
                                            "top": ranking.map { ["label": $0.label, "p": Double($0.probability)] }]))
                    } else {
                        let shown = ranking.map { "\($0.label) (\(String(format: "%.3f", $0.probability)))" }
                        print("\(file): \(shown.joined(separator: ", "))")
                    }
                case let .failure(error):
                    failures += 1
                    report(file: file, error: error.reason)
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }

        private func report(file: String, error: String) {
            if json {
                print(Console.json(["file": file, "error": error]))
            } else {
                Console.error("\(file): error: \(error)")
            }
        }
    }
}
