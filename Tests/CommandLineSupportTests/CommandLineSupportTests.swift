import Backprop
import CommandLineSupport
import Foundation
import Testing

@Suite("Command-line support")
struct CommandLineSupportTests {
    @Test("The ETA covers the whole run at the pace so far, a resumed run counting from where it restarted")
    func runETA() {
        // 10 s for 5 of epoch 1's 10 batches: 95 batches of 100 left at 2 s each.
        let halfFirst = BatchProgress(epoch: 1, epochs: 10, batch: 5, batches: 10, runningLoss: 0, elapsed: 10)
        #expect(TrainingProgress.remainingSeconds(halfFirst, runStartEpoch: 1, elapsed: 10) == 190)
        // Resumed at epoch 7: 4 epochs in this run, 15 of 40 batches done in 30 s.
        let resumed = BatchProgress(epoch: 8, epochs: 10, batch: 5, batches: 10, runningLoss: 0, elapsed: 10)
        #expect(TrainingProgress.remainingSeconds(resumed, runStartEpoch: 7, elapsed: 30) == 50)
        let last = BatchProgress(epoch: 10, epochs: 10, batch: 10, batches: 10, runningLoss: 0, elapsed: 1)
        #expect(TrainingProgress.remainingSeconds(last, runStartEpoch: 1, elapsed: 100) == 0)
    }

    @Test("Outputs that are an input under another spelling, a link or a hard link are refused")
    func distinctOutputs() throws {
        let folder = NSTemporaryDirectory() + "backprop-output-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let input = folder + "/data.csv"
        #expect(FileManager.default.createFile(atPath: input, contents: Data("a\n".utf8)))
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.csv", withDestinationPath: input)
        try FileManager.default.linkItem(atPath: input, toPath: folder + "/hard.csv")
        for same in [input, folder + "/./data.csv", folder + "/link.csv", folder + "/hard.csv"] {
            #expect(throws: CommandLineError("--output \(same) is the same file as \(input); choose another output")) {
                try OutputCheck.requireDistinct(same, option: "--output", from: [input])
            }
        }
        try OutputCheck.requireDistinct(folder + "/model.safetensors", option: "--output", from: [input])
        try OutputCheck.requireWritable(folder + "/model.safetensors", option: "--output")
        #expect(throws: CommandLineError("--output \(folder)/missing/m.safetensors: the folder \(folder)/missing does not exist")) {
            try OutputCheck.requireWritable(folder + "/missing/m.safetensors", option: "--output")
        }
        #expect(throws: CommandLineError("--output \(folder) exists and is not a regular file")) {
            try OutputCheck.requireWritable(folder, option: "--output")
        }
    }
}
