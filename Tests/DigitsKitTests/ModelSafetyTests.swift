import DigitsKit
import Foundation
import Testing
import TestSupport

/// Stopping or repeating a training run never costs the user a model or another run's progress.
@Suite("Keeping models safe", .serialized)
struct ModelSafetyTests {
    @Test("Stopped before its first epoch ends (SIGINT, SIGTERM, SIGHUP), a run leaves an existing model untouched",
          .enabled(if: mnistPresent, "MNIST is not in data/mnist: run data/fetch"))
    func stopBeforeFirstEpoch() throws {
        let directory = temporaryDirectory()
        let output = directory + "/mine.safetensors"
        try FileManager.default.copyItem(atPath: repositoryRoot + "/data/models/digits.safetensors", toPath: output)
        let original = try Data(contentsOf: URL(fileURLWithPath: output))
        let announcements: [Int32: String] = [
            SIGINT: "interrupt (Ctrl-C): finishing the current batch and saving",
            SIGTERM: "terminate (SIGTERM): finishing the current batch and saving",
            SIGHUP: "hang-up (SIGHUP): finishing the current batch and saving",
        ]
        for (signal, announcement) in announcements.sorted(by: { $0.key < $1.key }) {
            // An MNIST epoch takes several seconds; the handler is installed before data loading.
            let run = try runTool("digits", ["train", "--output", output], interruptAfterSeconds: 1.5, signal: signal)
            #expect(run.status == 128 + signal, "\(run.stderr)")
            #expect(run.stderr.contains(announcement), "\(run.stderr)")
            #expect(run.stderr.hasSuffix("stopped before the first epoch finished: nothing was saved, and \(output) is unchanged\n"),
                    "\(run.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == original)
            #expect(!FileManager.default.fileExists(atPath: DigitTraining.checkpointPath(for: output)))
        }
    }

    @Test("A new run refuses to replace another run's checkpoint; --resume without one says why",
          .enabled(if: mnistPresent, "MNIST is not in data/mnist: run data/fetch"))
    func checkpointsAreKept() throws {
        let images = temporaryDirectory()
        guard try writeRenderedDigits(count: 200, skip: 300, to: images) != nil else { return }
        let directory = temporaryDirectory()
        let output = directory + "/run.safetensors"
        let checkpoint = DigitTraining.checkpointPath(for: output)
        let arguments = ["train", "--images", images, "--epochs", "30", "--batch-size", "8", "--output", output]
        let missing = try runDigits(arguments + ["--resume"])
        #expect(missing.status != 0)
        #expect(missing.stderr == "Error: \(checkpoint): no checkpoint to resume from (a run that finished removes it; "
                + "one stopped before its first epoch ended never wrote one)\n")
        let first = try runDigits(arguments, interruptAfter: "epoch 2/30")
        #expect(first.status == 130, "\(first.stderr)")
        #expect(first.stderr.contains("stopped after 2 of 30 epochs: the model learned so far is saved to \(output); "
                                      + "continue with the same command and --resume") || first.stderr.contains("stopped after 3 of 30"),
                "\(first.stderr)")
        let saved = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        let second = try runDigits(arguments.dropLast(2) + ["--seed", "9", "--output", output])
        #expect(second.status != 0)
        #expect(second.stderr == "Error: \(checkpoint) holds an interrupted run's progress: continue it with --resume and the "
                + "same options, or delete it (or choose another --output) to start over\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == saved)
    }
}
