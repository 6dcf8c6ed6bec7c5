import ArgumentParser
import CommandLineSupport
import DigitsKit
import Foundation
import PNGCodec

extension Digits {
    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Classify PNG images of digits (files, or folders searched for *.png).",
            discussion: """
            Prints "path: label (confidence)" per image. Any PNG works: gray, RGB, palette, \
            alpha, 1-16 bits, interlaced, any size: canvas drawings, phone photos of paper, scans. \
            It is normalised like MNIST unless --raw: polarity, uneven light flattened, specks and \
            ruled lines dropped, thin strokes thickened, 20×20 fit, centre of mass. An answer \
            whose top probability is below 0.6, or whose picture shows several large separate \
            marks or ink touching every edge, is marked uncertain ("uncertain": true in JSON). An \
            unreadable file gets an error line and the others are still classified; the exit \
            status is 1 if any file failed.
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

        @Flag(help: "Under each result, draw the 28×28 image the network saw.")
        var show = false

        @Option(help: ArgumentHelp("Write the 28×28 images the network saw as PNGs into this folder.", valueName: "dir"))
        var saveNormalized: String?

        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        }

        func run() throws {
            let classifier = try DigitClassifier(contentsOf: try model.path())
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
            if let saveNormalized {
                try FileManager.default.createDirectory(atPath: saveNormalized, withIntermediateDirectories: true)
            }
            for (index, (file, outcome)) in classifier.classify(files: files, raw: raw, threads: threads.threads).enumerated() {
                switch outcome {
                case let .success(result):
                    let ranking = result.ranking.prefix(top)
                    if json {
                        var record: [String: Any] = ["file": file, "label": result.label,
                                                     "confidence": Double(result.confidence), "uncertain": result.uncertain,
                                                     "top": ranking.map { ["label": $0.label, "p": Double($0.probability)] }]
                        if result.uncertain { record["doubts"] = result.doubts }
                        print(Console.json(record))
                    } else {
                        let shown = ranking.map { "\($0.label) (\(String(format: "%.3f", $0.probability)))" }
                        let doubt = result.uncertain ? "  uncertain: " + result.doubts.joined(separator: "; ") : ""
                        print("\(file): \(result.uncertain ? "maybe " : "")\(shown.joined(separator: ", "))\(doubt)")
                    }
                    if show { print(Self.shading(result.input)) }
                    if let saveNormalized {
                        let name = String(format: "%05d-", index) + URL(fileURLWithPath: file).lastPathComponent
                        let bytes = PNGEncoder(width: 28, height: 28, colorType: .gray, bitDepth: 8)
                            .encode(samples: result.input.map { Int(($0 * 255).rounded()) })
                        guard FileManager.default.createFile(atPath: saveNormalized + "/" + name, contents: Data(bytes)) else {
                            throw ValidationError("cannot write \(saveNormalized)/\(name)")
                        }
                    }
                case let .failure(error):
                    failures += 1
                    report(file: file, error: error.reason)
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }

        /// The 28×28 image in Unicode shades, two characters per pixel so that it looks square.
        static func shading(_ pixels: [Float]) -> String {
            let shades = [" ", "░", "▒", "▓", "█"]
            return (0..<28).map { y in
                (0..<28).map { x in
                    let level = shades[min(4, Int((pixels[y * 28 + x] * 4).rounded()))]
                    return level + level
                }.joined()
            }.joined(separator: "\n")
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
