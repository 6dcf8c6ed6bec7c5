import Foundation
import Testing
import TestSupport

/// Files and streams that are not what they seem: FIFOs named like inputs, a full disk or a closed
/// pipe behind stdout. Every case ends with a message and a non-zero status, never a hang or a crash.
@Suite("digits: files and streams")
struct DigitStreamTests {
    @Test("A FIFO among the PNGs of a folder is an error line; the other files are still classified")
    func fifoInFolder() throws {
        let folder = temporaryDirectory()
        #expect(mkfifo(folder + "/a.png", 0o644) == 0)
        try FileManager.default.copyItem(atPath: repositoryRoot + "/data/samples/0-7-gray8.png", toPath: folder + "/b.png")
        let run = try runDigits(["classify", folder, "--model", "data/models/digits.safetensors"])
        #expect(run.status == 1)
        #expect(run.stdout.hasPrefix(folder + "/b.png: 7 ("), "\(run.stdout)")
        #expect(run.stderr == folder + "/a.png: error: cannot read: is not a regular file (a FIFO, socket or device)\n")
        for command in [["inspect", folder + "/a.png"], ["classify", folder + "/b.png", "--model", folder + "/a.png"]] {
            let model = try runDigits(command)
            #expect(model.status == 1)
            #expect(model.stderr == "Error: \(folder)/a.png: is not a regular file (a FIFO, socket or device)\n", "\(model.stderr)")
        }
    }

    @Test("A full disk or a closed pipe behind stdout: one error line and exit status 1")
    func brokenStdout() throws {
        // The samples in one sub-folder per label (their names are <index>-<label>-<kind>.png).
        let labelled = temporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/data/samples") {
            let folder = labelled + "/" + name.split(separator: "-")[1]
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: repositoryRoot + "/data/samples/" + name, toPath: folder + "/" + name)
        }
        for command in [["classify", "data/samples"], ["classify", "--json", "data/samples"], ["inspect"],
                        ["evaluate", "--images", labelled]] {
            let full = try runToolWithBrokenStdout("digits", command)
            #expect(full.status == 1, "\(command)")
            #expect(full.stderr.hasSuffix("Error: cannot write to stdout: No space left on device\n"), "\(command): \(full.stderr)")
            let closed = try runToolWithBrokenStdout("digits", command, closedPipe: true)
            #expect(closed.status == 1, "\(command)")
            #expect(closed.stderr.hasSuffix("Error: cannot write to stdout: Broken pipe\n"), "\(command): \(closed.stderr)")
        }
    }
}
