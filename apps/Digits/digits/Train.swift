import ArgumentParser
import Backprop
import CommandLineSupport
import DigitsKit
import Foundation
import ModelFile

extension Digits {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the digit CNN on MNIST (or a folder of labelled PNGs) and save the model.",
            discussion: """
            The defaults reach about 99.1% MNIST test accuracy in about 10 s on two cores \
            (README.md, "Using it"). The shipped model came from: \
            digits train --epochs 40 --network batchnorm --augment captures --learning-rate 0.003 \
            --output data/models/digits.safetensors
            A checkpoint is kept next to the output after every epoch; after Ctrl-C, SIGTERM or \
            SIGHUP (which save the model learned so far, once an epoch has finished) or a crash, \
            --resume continues the run exactly. A run refuses to start over another run's checkpoint.
            """)

        @OptionGroup var data: DataOptions

        @Option(help: "Passes over the training set.")
        var epochs = DigitTrainingOptions().epochs

        @Option(help: "Images per optimizer step.")
        var batchSize = DigitTrainingOptions().batchSize

        @Option(help: "Peak learning rate (AdamW, one-cycle cosine schedule).")
        var learningRate = DigitTrainingOptions().learningRate

        @Option(help: ArgumentHelp("Distort training images: none; affine (rotate, scale, shift); captures (also shear, "
                                   + "stretch, elastic warp, pen width, blur, faint ink, noise, binarised and low-resolution scans).",
                                   valueName: "kind"))
        var augment = DigitTrainingOptions().augment

        @Option(help: ArgumentHelp("quick (conv 16 and 32 channels, light dropout: learns fastest), compact (32 and 64 "
                                   + "channels), or batchnorm (compact with BatchNorm after every convolution and the hidden layer).",
                                   valueName: "network"))
        var network = DigitTrainingOptions().network

        @Option(help: "Seed for initialisation, shuffling, dropout and augmentation.")
        var seed = DigitTrainingOptions().seed

        @Option(help: ArgumentHelp("Cut each batch into this many shards, computed one by one and added in a fixed order: "
                                   + "runs with the same shards give the same weights bit for bit, alone or on any number of "
                                   + "MPI ranks that fits them (default: one per rank; on --resume, the checkpoint's).",
                                   valueName: "count"))
        var shards: Int?

        @OptionGroup var threads: ThreadOptions

        @Option(help: ArgumentHelp("Where to write the model.", valueName: "model"))
        var output = "digits.safetensors"

        @Option(help: ArgumentHelp("Write an HTML training report here, refreshed after every epoch (reload it to watch).",
                                   valueName: "file.html"))
        var report: String?

        @Flag(help: "Continue the interrupted run whose checkpoint is next to --output.")
        var resume = false

        @Flag(help: "Print the result as one JSON object.")
        var json = false

        func validate() throws {
            guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
            guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
            if let shards, shards < 1 { throw ValidationError("--shards must be at least 1") }
        }

        func run() throws {
            // Under mpirun, one rank of a data-parallel run (README.md, "Training on several machines").
            let job = try TrainingJob()
            try job.run { try train(job) }
        }

        private func train(_ job: TrainingJob) throws {
            // Found out now, not after the training it would have thrown away.
            try job.together {
                guard job.isLead else { return }
                try OutputCheck.requireWritable(output, option: "--output")
                if let report {
                    try OutputCheck.requireDistinct(report, option: "--report", from: [output])
                    try OutputCheck.requireWritable(report, option: "--report")
                }
            }
            // Training allocates and frees large blocks every batch: keep them instead of re-faulting them.
            AllocatorTuning.keepFreedMemory()
            var options = DigitTrainingOptions()
            options.epochs = epochs
            options.batchSize = batchSize
            options.learningRate = learningRate
            options.augment = augment
            options.network = network
            options.seed = seed
            options.shards = shards
            Interrupt.install()
            let progress = TrainingProgress(unit: "img")
            let command = (["digits"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
            let heldOut = data.images == nil ? "test" : "validation"
            var epochLines: [DigitReports.EpochLine] = []
            func writeReport(finished: Bool) {
                guard let report, job.isLead else { return }
                let html = DigitReports.training(epochLines, command: command, heldOut: heldOut, finished: finished)
                do {
                    try FileIO.writeAtomically(Array(html.utf8), to: report)
                } catch {
                    Console.error("warning: cannot write the report \(error)")
                }
            }
            let outcome = try DigitTraining.run(
                options: options, source: data.source, output: output, threads: threads.threads, resume: resume,
                command: command, group: job.group,
                onBatch: progress.batch, onEpoch: { progress.epoch($0) }, onWarning: { Console.error("warning: \($0)") },
                onHeldOut: report == nil || !job.isLead ? nil : { epoch, loss, accuracy in
                    epochLines.append(.init(report: epoch, heldOutLoss: loss, heldOutAccuracy: accuracy))
                    writeReport(finished: false)
                },
                shouldStop: { Interrupt.isRequested })
            writeReport(finished: true)
            for skipped in outcome.skipped { Console.error("skipped \(skipped)") }
            let evaluationName = data.images == nil ? "test" : "validation"
            if json {
                var result: [String: Any] = [
                    "output": output, "saved": outcome.saved, "epochs": outcome.summary.epochsCompleted, "seconds": outcome.seconds,
                    "stopped": outcome.summary.stopReason.rawValue,
                    "history": outcome.summary.history.map { ["epoch": $0.epoch, "loss": $0.trainingLoss,
                                                              "seconds": $0.seconds, "images_per_second": $0.samplesPerSecond] },
                ]
                if let evaluation = outcome.evaluation { result["\(evaluationName)_accuracy"] = evaluation.accuracy }
                try Console.output(Console.json(result))
            } else {
                if let evaluation = outcome.evaluation {
                    try Console.output(String(format: "%@ accuracy %.2f%% (%d images)", evaluationName, evaluation.accuracy * 100, evaluation.count))
                }
                if outcome.saved {
                    try Console.output(String(format: "trained %d epochs in %.1f s; model saved to %@", outcome.summary.epochsCompleted,
                                 outcome.seconds, output))
                }
            }
            if outcome.summary.stopReason == .interrupted {
                Console.error(Interrupt.trainingStopped(saved: outcome.saved, output: output,
                                                        epochsCompleted: outcome.summary.epochsCompleted, epochs: epochs))
                throw ExitCode(Interrupt.exitStatus)
            }
        }
    }
}

extension DigitAugmentationKind: ExpressibleByArgument {}
extension DigitNetwork: ExpressibleByArgument {}
