import Foundation
import Testing
import TestSupport

/// The concurrency tests again, built with the thread sanitizer (Tools/sanitizers.sh): one network
/// shared by eight predicting threads, training's thread-count independence, the parallel kernels.
/// It builds the package a second time (about two minutes), so it runs under CI only; run the
/// script directly elsewhere.
@Suite("Thread sanitizer")
struct SanitizerTests {
    @Test("The concurrency tests pass under the thread sanitizer with no report", .enabled(if: runningUnderCI))
    func threadSanitizer() throws {
        let (status, text) = try runMerged("/usr/bin/env", ["bash", repositoryRoot + "/Tools/sanitizers.sh", "thread"])
        #expect(status == 0, "\(text)")
        #expect(text.contains("the concurrency tests pass with no report"), "\(text)")
    }
}
