import ArgumentParser
import CommandLineSupport
import DigitsKit
import Foundation
import ModelFile
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
            if let saveNormalized {
                try FileManager.default.createDirectory(atPath: saveNormalized, withIntermediateDirectories: true)
            }
            var failures = 0
            var index = 0
            // Files are found, decoded, classified and printed a chunk at a time, so that results
            // appear as they are ready and a folder of any size needs no more memory than a chunk.
            for input in inputs {
                let (files, problems) = Self.pngFiles(input)
                for (path, problem) in problems {
                    try report(file: path, error: problem)
                    failures += 1
                }
                for start in stride(from: 0, to: files.count, by: Self.chunkSize) {
                    let chunk = Array(files[start..<min(files.count, start + Self.chunkSize)])
                    for (file, outcome) in classifier.classify(files: chunk, raw: raw, threads: threads.threads) {
                        switch outcome {
                        case let .success(result):
                            try printResult(file: file, result: result, index: index)
                        case let .failure(error):
                            failures += 1
                            try report(file: file, error: error.reason)
                        }
                        index += 1
                    }
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }

        /// Files classified per batch.
        static let chunkSize = 256

        /// The PNG files `input` names: itself if it is not a folder, else the `*.png` files under
        /// it in sorted order, with every sub-folder that cannot be read or a folder without PNGs
        /// as a problem to report.
        static func pngFiles(_ input: String) -> (files: [String], problems: [(String, String)]) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue else {
                return ([input], [])
            }
            var problems: [(String, String)] = []
            let root = URL(fileURLWithPath: input)
            let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) { url, error in
                let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
                problems.append((url.path, "cannot read this folder (\(reason))"))
                return true
            }
            var found: [String] = []
            while let url = enumerator?.nextObject() as? URL {
                guard url.pathExtension.lowercased() == "png" else { continue }
                // Keep the path as the user wrote the folder, as the results name it.
                let relative = String(url.path.dropFirst(root.path.count))
                found.append(input + (relative.hasPrefix("/") || input.hasSuffix("/") ? "" : "/") + relative)
            }
            found.sort()
            if found.isEmpty && problems.isEmpty { problems.append((input, "no *.png files in this folder")) }
            return (found, problems)
        }

        private func printResult(file: String, result: DigitClassifier.Classification, index: Int) throws {
            let ranking = result.ranking.prefix(top)
            if json {
                var record: [String: Any] = ["file": file, "label": result.label,
                                             "confidence": Double(result.confidence), "uncertain": result.uncertain,
                                             "top": ranking.map { ["label": $0.label, "p": Double($0.probability)] }]
                if result.uncertain { record["doubts"] = result.doubts }
                try Console.output(Console.json(record))
            } else {
                let shown = ranking.map { "\($0.label) (\(String(format: "%.3f", $0.probability)))" }
                let doubt = result.uncertain ? "  uncertain: " + result.doubts.joined(separator: "; ") : ""
                try Console.output("\(file): \(result.uncertain ? "maybe " : "")\(shown.joined(separator: ", "))\(doubt)")
            }
            if show { try Console.output(Self.shading(result.input)) }
            if let saveNormalized {
                let name = String(format: "%05d-", index) + URL(fileURLWithPath: file).lastPathComponent
                let bytes = PNGEncoder(width: 28, height: 28, colorType: .gray, bitDepth: 8)
                    .encode(samples: result.input.map { Int(($0 * 255).rounded()) })
                do {
                    try FileIO.writeAtomically(bytes, to: saveNormalized + "/" + name)
                } catch {
                    throw CommandLineError("\(saveNormalized)/\(name): \(error.reason)")
                }
            }
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

        private func report(file: String, error: String) throws {
            if json {
                try Console.output(Console.json(["file": file, "error": error]))
            } else {
                Console.error("\(file): error: \(error)")
            }
        }
    }
}
