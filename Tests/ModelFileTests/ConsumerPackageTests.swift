import Foundation
import Testing
import TestSupport

/// The package as other programs use it: a separate package depending on a version tag of this
/// repository builds and runs the DocC examples ("Embedding a trained model" and the engine's
/// own), taken from the articles themselves. Needs git and the committed tree (it clones HEAD).
@Suite("A consumer package")
struct ConsumerPackageTests {
    @Test("builds against a version tag and runs the documentation's examples",
          .enabled(if: runningUnderCI || FileManager.default.fileExists(atPath: repositoryRoot + "/.git")))
    func consumerPackage() throws {
        let (status, text) = try runMerged("/usr/bin/env", ["bash", repositoryRoot + "/Tools/consumer-check.sh"])
        #expect(status == 0, "\(text)")
        #expect(text.contains("consumer-check: a package depending on backprop"), "\(text)")
    }
}
