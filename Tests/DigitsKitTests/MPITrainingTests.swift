import Foundation
import Testing
import DigitsKit
import ModelFile
import TestSupport

@Suite("digits train over MPI", .serialized,
       .enabled(if: mpirunPresent, "Open MPI's mpirun is not installed (apt-get install openmpi-bin)"),
       .enabled(if: mnistPresent, "MNIST is not in data/mnist: run data/fetch"))
struct DigitsMPITests {
    static func weights(_ path: String) throws -> [Float] {
        let weights = try ModelFile.load(contentsOf: path).network.weights
        return (weights.parameters + weights.buffers).flatMap(\.scalars)
    }

    @Test("2 ranks give one process's weights bit for bit (same shards); interrupted runs resume on 1 rank and on 2")
    func equivalenceAndResume() throws {
        let images = temporaryDirectory()
        guard try writeRenderedDigits(count: 800, skip: 200, to: images) != nil else { return }
        let directory = temporaryDirectory()
        // Enough epochs that Ctrl-C, sent after the first, lands well before the end (mpirun passes
        // it on as SIGTERM about a second later; an epoch of these 800 images takes ~0.1 s, and 12
        // epochs once ended before it); dropout and affine distortions make every rank draw for
        // rows it does not compute.
        let arguments = ["train", "--images", images, "--epochs", "40", "--batch-size", "16", "--seed", "5", "--augment", "affine"]
        let alone = try runTool("digits", arguments + ["--shards", "2", "--output", directory + "/alone.safetensors"])
        #expect(alone.status == 0, "\(alone.stderr)")
        let ranks = try runMPI("digits", arguments + ["--output", directory + "/ranks.safetensors"])
        #expect(ranks.status == 0, "\(ranks.stderr)")
        // Rank 0 alone prints: one result line, not two.
        #expect(ranks.stdout.components(separatedBy: "model saved to").count == 2, "\(ranks.stdout)")
        let expected = try Self.weights(directory + "/alone.safetensors")
        #expect(try Self.weights(directory + "/ranks.safetensors") == expected)

        // Interrupted on 2 ranks, resumed alone (the checkpoint's 2 shards are kept).
        let first = directory + "/first.safetensors"
        let interrupted = try runMPI("digits", arguments + ["--output", first], interruptAfter: "epoch 1/40")
        #expect(interrupted.status != 0)
        #expect(FileManager.default.fileExists(atPath: DigitTraining.checkpointPath(for: first)), "\(interrupted.stderr)")
        let resumedAlone = try runTool("digits", arguments + ["--output", first, "--resume"])
        #expect(resumedAlone.status == 0, "\(resumedAlone.stderr)")
        #expect(try Self.weights(first) == expected)

        // Interrupted alone, resumed on 2 ranks.
        let second = directory + "/second.safetensors"
        let stopped = try runTool("digits", arguments + ["--shards", "2", "--output", second], interruptAfter: "epoch 1/40")
        #expect(stopped.status == 130, "\(stopped.stderr)")
        let resumedOnRanks = try runMPI("digits", arguments + ["--output", second, "--resume"])
        #expect(resumedOnRanks.status == 0, "\(resumedOnRanks.stderr)")
        #expect(try Self.weights(second) == expected)
    }

    @Test("A rank that cannot read its images ends the job with one message naming the rank; nothing is written")
    func unreadableRank() throws {
        let images = temporaryDirectory()
        guard try writeRenderedDigits(count: 40, skip: 200, to: images) != nil else { return }
        let output = temporaryDirectory() + "/model.safetensors"
        let common = ["train", "--epochs", "1", "--output", output]
        let result = try runMPI("digits", [], perRank: [common + ["--images", images], common + ["--images", "/nonexistent/digits"]])
        #expect(result.status != 0)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1 && errors[0].contains("rank 1:") && errors[0].contains("/nonexistent/digits"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("Shards that do not fit the ranks, or a BatchNorm network with other shards than ranks, are refused up front")
    func refusedShards() throws {
        let output = temporaryDirectory() + "/model.safetensors"
        let images = temporaryDirectory()
        guard try writeRenderedDigits(count: 40, skip: 200, to: images) != nil else { return }
        let tooFew = try runMPI("digits", ["train", "--images", images, "--epochs", "1", "--shards", "1", "--output", output])
        #expect(tooFew.status != 0 && tooFew.stderr.contains("1 shard for 2 ranks: every rank needs at least one, such as 2"), "\(tooFew.stderr)")
        let uneven = try runMPI("digits", ranks: 3, ["train", "--images", images, "--epochs", "1", "--shards", "5", "--output", output])
        #expect(uneven.status != 0 && uneven.stderr.contains("5 shards cannot be shared out over 3 ranks"), "\(uneven.stderr)")
        let batchNorm = try runTool("digits", ["train", "--images", images, "--epochs", "1", "--network", "batchnorm",
                                               "--shards", "2", "--output", output])
        #expect(batchNorm.status != 0 && batchNorm.stderr.contains("BatchNorm"), "\(batchNorm.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
