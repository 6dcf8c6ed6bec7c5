import Foundation
import Testing
import ModelFile
import HousePriceKit

@Suite("house-price train over MPI", .serialized,
       .enabled(if: mpirunPresent, "Open MPI's mpirun is not installed (apt-get install openmpi-bin)"))
struct HousePriceMPITests {
    static func weights(_ path: String) throws -> [Float] {
        try ModelFile.load(contentsOf: path).network.weights.parameters.flatMap(\.scalars)
    }

    @Test("An ensemble trained on 2 ranks equals one process with 2 shards bit for bit; a run interrupted on 2 ranks resumes alone")
    func equivalenceAndResume() throws {
        let directory = temporaryDirectory()
        // Big enough that mpirun, which passes Ctrl-C on as SIGTERM about a second later, stops
        // the run while it trains its first or second network.
        write(syntheticSales(rows: 40_000, seed: 12), to: directory + "/sales.csv")
        let arguments = ["train", directory + "/sales.csv", "--target", "SalePrice", "--drop", "Id", "--log-target",
                         "--epochs", "50", "--patience", "50", "--ensemble", "2", "--seed", "3"]
        let alone = try runTool("house-price", arguments + ["--shards", "2", "--output", directory + "/alone.safetensors"])
        #expect(alone.status == 0, "\(alone.stderr)")
        let ranks = try runMPI("house-price", arguments + ["--output", directory + "/ranks.safetensors"])
        #expect(ranks.status == 0, "\(ranks.stderr)")
        #expect(ranks.stdout.components(separatedBy: "model saved to").count == 2, "\(ranks.stdout)")
        let expected = try Self.weights(directory + "/alone.safetensors")
        #expect(try Self.weights(directory + "/ranks.safetensors") == expected)

        let output = directory + "/resumed.safetensors"
        let interrupted = try runMPI("house-price", arguments + ["--output", output], interruptAfter: "epoch 10/50")
        #expect(interrupted.status != 0)
        #expect(interrupted.stderr.components(separatedBy: "terminate (SIGTERM)").count == 2, "one rank speaks: \(interrupted.stderr)")
        #expect(FileManager.default.fileExists(atPath: HousePriceTraining.checkpointPath(for: output, member: 0, of: 2)),
                "\(interrupted.stderr)")
        let resumed = try runTool("house-price", arguments + ["--output", output, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.weights(output) == expected)
    }
}
