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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", repositoryRoot + "/Tools/consumer-check.sh"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("consumer-check: a package depending on backprop"), "\(text)")
    }
}
