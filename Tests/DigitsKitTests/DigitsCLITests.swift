import Foundation
import Testing
import TestSupport
import DigitsKit
import ModelFile
import Backprop
import PNGCodec

/// Runs the built `digits` tool.
@discardableResult
func runDigits(_ arguments: [String], interruptAfter marker: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    try runTool("digits", arguments, interruptAfter: marker)
}

/// Writes `count` user-style PNGs of MNIST test digits into one sub-folder per label.
func writeRenderedDigits(count: Int, skip: Int, to directory: String, seed: UInt64 = 11) throws -> Int? {
    guard let test = try loadMNISTTest() else { return nil }
    let preprocessing = DigitPreprocessing()
    var random = RandomGenerator(seed: seed)
    let styles = DigitImageRenderer.Style.allCases
    for offset in 0..<count {
        let index = skip + offset
        let digit = test.inputs.scalars[(index * 784)..<((index + 1) * 784)].map { $0 * preprocessing.deviation + preprocessing.mean }
        let folder = directory + "/" + test.labels[test.targets[index]]
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let bytes = DigitImageRenderer().render(Array(digit), style: styles[offset % styles.count], random: &random)
        FileManager.default.createFile(atPath: folder + "/\(index).png", contents: Data(bytes))
    }
    return count
}

@Suite("digits command line", .serialized)
struct DigitsCLITests {
    @Test("classify prints 'path: label (confidence)' per sample and exits 0")
    func classifySamples() throws {
        let result = try runDigits(["classify", "data/samples"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count >= 10)
        for line in lines {
            #expect(line.wholeMatch(of: /data\/samples\/.+\.png: \w+ \(\d\.\d{3}\)/) != nil, "\(line)")
            // The sample files are named <index>-<label>-<style>.png: the answer must match.
            let name = line.split(separator: "/").last!.split(separator: ":")[0]
            let label = name.split(separator: "-")[1]
            #expect(line.hasSuffix(": \(label) (\(line.split(separator: "(").last!)"), "\(line)")
        }
    }

    @Test("A bad file gets one error line, the others are still classified, exit status 1")
    func badFileAmongGood() throws {
        let directory = temporaryDirectory()
        let bad = directory + "/not-a-png.png"
        FileManager.default.createFile(atPath: bad, contents: Data("hello".utf8))
        let samples = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/data/samples").sorted()
        let good = "data/samples/" + samples[0]
        // A valid PNG with nothing drawn on it: no digit to name.
        let blank = directory + "/blank.png"
        FileManager.default.createFile(atPath: blank, contents: Data(
            PNGEncoder(width: 40, height: 30, colorType: .gray, bitDepth: 8).encode(samples: Array(repeating: 255, count: 1200))))
        let result = try runDigits(["classify", bad, good, directory + "/missing.png", blank])
        #expect(result.status == 1)
        #expect(result.stdout.contains(good + ": "))
        // The first line names the model used (none was given); then one line per failed file.
        var errors = result.stderr.split(separator: "\n")
        #expect(errors.removeFirst().hasPrefix("model: "))
        #expect(errors.count == 3, "\(result.stderr)")
        #expect(errors.first?.hasPrefix(bad + ": error: ") == true)
        #expect(errors.last?.hasPrefix(blank + ": error: no digit found") == true, "\(result.stderr)")
        // JSON mode: one object per line, errors included.
        let json = try runDigits(["classify", "--json", "--top", "3", bad, good])
        #expect(json.status == 1)
        let objects = try json.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(objects.count == 2)
        #expect(objects[0]["file"] as? String == bad && objects[0]["error"] is String)
        #expect(objects[1]["label"] is String && objects[1]["confidence"] is Double)
        #expect((objects[1]["top"] as? [[String: Any]])?.count == 3)
    }

    @Test("inspect and evaluate print JSON with the documented keys")
    func inspectAndEvaluate() throws {
        let inspect = try runDigits(["inspect", "--json"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let model = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        #expect(model["task"] as? String == "digits")
        #expect((model["layers"] as? [[String: Any]])?.first?["output_shape"] as? [Int] == [32, 28, 28])
        #expect((model["parameters"] as? Int ?? 0) > 0)

        let directory = temporaryDirectory()
        guard try writeRenderedDigits(count: 40, skip: 100, to: directory) != nil else { return }
        let evaluate = try runDigits(["evaluate", "--images", directory, "--json"])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as! [String: Any]
        #expect(report["count"] as? Int == 40)
        #expect((report["accuracy"] as? Double ?? 0) >= 0.9)
        #expect((report["confusion"] as? [[Int]])?.count == 10)
        #expect(((report["per_class"] as? [[String: Any]])?.first?.keys.sorted()) == ["precision", "recall"])
    }

    @Test("Usage errors and unreadable models fail with one line and a non-zero status")
    func errors() throws {
        #expect(try runDigits(["classify", "--top", "0", "x.png"]).status != 0)
        #expect(try runDigits(["train", "--data", "a", "--images", "b"]).status != 0)
        let notAModel = temporaryDirectory() + "/model.safetensors"
        FileManager.default.createFile(atPath: notAModel, contents: Data(repeating: 7, count: 100))
        let result = try runDigits(["classify", "--model", notAModel, "data/samples"])
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test("Ctrl-C saves the model and keeps the checkpoint; --resume reproduces the uninterrupted run", .enabled(if: mnistPresent, "MNIST is not in data/mnist: run data/fetch"))
    func interruptAndResume() throws {
        let images = temporaryDirectory()
        guard try writeRenderedDigits(count: 300, skip: 200, to: images) != nil else { return }
        let directory = temporaryDirectory()
        // Enough epochs that Ctrl-C, sent after the first, lands well before the end.
        let arguments = ["train", "--images", images, "--epochs", "30", "--batch-size", "8", "--seed", "5"]
        let straight = try runDigits(arguments + ["--output", directory + "/straight.safetensors"])
        #expect(straight.status == 0, "\(straight.stderr)")

        let output = directory + "/resumed.safetensors"
        let interrupted = try runDigits(arguments + ["--output", output], interruptAfter: "epoch 1/30")
        #expect(interrupted.status == 130, "\(interrupted.stderr)")
        #expect(FileManager.default.fileExists(atPath: output))
        #expect(FileManager.default.fileExists(atPath: DigitTraining.checkpointPath(for: output)))
        let resumed = try runDigits(arguments + ["--output", output, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: DigitTraining.checkpointPath(for: output)))
        let a = try ModelFile.load(contentsOf: directory + "/straight.safetensors").network.weights
        let b = try ModelFile.load(contentsOf: output).network.weights
        #expect(a == b)
        // A resume with other options is refused.
        let mismatch = try runDigits(arguments.dropLast(2) + ["--seed", "6", "--output", output, "--resume"])
        #expect(mismatch.status != 0)
    }
}
