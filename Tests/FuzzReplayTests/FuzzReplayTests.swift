import Foundation
import Testing
import TestSupport

/// The fuzz harnesses (Tools/fuzz/README.md): every committed seed and every input that once
/// crashed (`crash-*`) is replayed through its harness on every run; under CI, libFuzzer also
/// drives each harness for a short while.
@Suite("Fuzzing")
struct FuzzReplayTests {
    static let harnesses = ["fuzz-csv", "fuzz-png", "fuzz-safetensors", "fuzz-digits-model", "fuzz-house-price-model"]

    @Test("Every committed seed and crash input goes through its harness without a trap", arguments: harnesses)
    func replay(harness: String) throws {
        let corpus = repositoryRoot + "/Tests/Fixtures/fuzz/" + harness
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { !$0.hasPrefix(".") }
        #expect(!files.isEmpty)
        let result = try runMerged(productsDirectory + "/" + harness, [corpus])
        #expect(result.status == 0, "\(result.output.suffix(2000))")
        #expect(result.output.contains("replayed \(files.count) files"), "\(result.output.suffix(500))")
    }

    @Test("libFuzzer drives each harness for 20 s without finding a crash (CI only: it builds them again, instrumented)",
          .enabled(if: runningUnderCI))
    func briefFuzzing() throws {
        let result = try runMerged("/usr/bin/env", ["bash", repositoryRoot + "/Tools/fuzz.sh", "all", "20"])
        #expect(result.status == 0, "\(result.output.suffix(3000))")
        #expect(result.output.components(separatedBy: "DONE").count == Self.harnesses.count + 1, "\(result.output.suffix(3000))")
    }
}
