import Backprop
import Foundation
import ModelFile

/// Where `digits train` and `digits evaluate` get labelled images.
public enum DigitSource: Sendable {
    /// A directory with the four MNIST IDX files (gzipped or not).
    case mnist(String)
    /// A directory with one sub-folder of PNGs per label.
    case images(String)
}

/// What a training run produced.
public struct DigitTrainingOutcome {
    public let metadata: ModelMetadata
    public let summary: TrainingSummary
    /// On the MNIST test set, or the held-out 10 % of an image folder.
    public let evaluation: ClassificationReport?
    /// Image files that could not be used, with why.
    public let skipped: [String]
    /// Training time in seconds, data loading excluded.
    public let seconds: Double
    /// Whether the model was written: not when the run stopped before its first epoch ended.
    public let saved: Bool
}

/// Trains the digit network, writing the model (and, between epochs, a checkpoint) atomically.
public enum DigitTraining {
    /// The checkpoint written next to `output` after every epoch, for `--resume`.
    public static func checkpointPath(for output: String) -> String { TrainingFiles(output: output).checkpoints[0] }

    /// Trains per `options` on `source` and saves the model to `output`.
    ///
    /// With `resume`, continues from the checkpoint next to `output`, which must have been made
    /// with the same options. After every epoch the checkpoint is rewritten; when training ends
    /// normally it is removed. If `shouldStop` turns true (Ctrl-C), the model learned so far is
    /// saved (if at least one epoch finished; see `TrainingFiles`) and the checkpoint kept, so
    /// that `--resume` can finish the run. `onWarning` hears of checkpoints that cannot be written;
    /// `onHeldOut`, when given, gets the held-out images' loss and accuracy after every epoch.
    ///
    /// With `group`, this process is one rank of a data-parallel run (see ``DataParallel``): every
    /// rank reads the data; rank 0 alone checks and writes the output, checkpoints and model, reads
    /// the checkpoint to resume from and sends it to the others, and evaluates the result. Any
    /// number of ranks may resume a checkpoint that any number of ranks wrote.
    public static func run(options: DigitTrainingOptions, source: DigitSource, output: String, threads: Int,
                           resume: Bool, command: String, group: DataParallel? = nil,
                           onBatch: (BatchProgress) -> Void = { _ in },
                           onEpoch: (EpochReport) -> Void = { _ in },
                           onWarning: (String) -> Void = { _ in },
                           onHeldOut: ((EpochReport, _ loss: Double, _ accuracy: Double) -> Void)? = nil,
                           shouldStop: () -> Bool = { false }) throws -> DigitTrainingOutcome {
        let files = TrainingFiles(output: output)
        let isLead = group?.isLead ?? true
        let preprocessing = DigitPreprocessing()
        // Each rank reads its copy of the data; a rank that cannot ends the run, naming itself.
        let (training, evaluationData) = try DataParallel.together(group) { () throws -> (DigitData, DigitData?) in
            if isLead { try files.checkBeforeTraining(resume: resume) }
            return try load(source, preprocessing: preprocessing, seed: options.seed)
        }
        // Resuming: rank 0 reads the checkpoint and sends it to the others.
        let checkpointPath = files.checkpoints[0]
        var checkpoint: TrainingCheckpoint?
        if resume {
            var bytes = try DataParallel.together(group) { isLead ? try FileIO.contents(of: checkpointPath) : [] }
            group?.broadcastBytes(&bytes)
            checkpoint = try DataParallel.together(group) { try TrainingCheckpoint.decode(bytes) }
        }
        let layers = DigitRecipe.layers(options.network, classes: training.labels.count)
        var options = options
        let resumedShards = checkpoint.flatMap { try? JSONDecoder().decode(DigitTrainingOptions.self, from: Data($0.settings.utf8)) }?.shards
        let shards = try DataParallel.together(group) {
            try ShardChoice(requested: options.shards, resumed: resumedShards, ranks: group?.size ?? 1, layers: layers)
        }
        options.shards = shards.recorded
        let settings = try MetadataJSON.encode(options)
        try group?.requireSame(settings, what: "the training options")
        try group?.requireSame("SHA-256 " + training.checksum, what: "the training images")

        var random = RandomGenerator(seed: options.seed)
        let network = try Network(inputShape: DigitRecipe.inputShape, layers: layers, random: &random)
        let configuration = TrainingConfiguration(
            epochs: options.epochs, batchSize: options.batchSize,
            schedule: .cosine(warmupEpochs: min(1, Double(options.epochs) * 0.2), minimumFactor: 0.01),
            threads: threads, shards: shards.shards)
        let trainer = Trainer(network: network, loss: SoftmaxCrossEntropy(),
                              optimizer: AdamW(learningRate: options.learningRate, weightDecay: 1e-4),
                              configuration: configuration, random: random)
        trainer.dataParallel = group
        if options.augment != .none {
            let augmentation = DigitAugmentation(preprocessing: preprocessing, captureEffects: options.augment == .captures)
            trainer.augment = { inputs, random, rows in
                augmentation.apply(to: &inputs, random: &random, threads: threads, rows: rows)
            }
        }

        var metadata = ModelMetadata(
            task: "digits", inputShape: DigitRecipe.inputShape, layers: network.layers,
            preprocessing: try MetadataJSON.encode(preprocessing),
            labels: training.labels,
            provenance: Provenance(seed: options.seed, epochs: options.epochs, dataSHA256: training.checksum,
                                   command: command))
        if let checkpoint {
            try DataParallel.together(group) {
                guard checkpoint.settings == settings else {
                    throw DigitsError.checkpointMismatch(file: checkpointPath, reason: "made with other options "
                        + "(\(checkpoint.settings)); resume with the same --epochs, --batch-size, --learning-rate, --augment, --network, --seed and --shards")
                }
                try checkpoint.restore(into: trainer)
            }
            metadata.provenance.created = checkpoint.metadata.provenance.created
        }

        let started = Date()
        let fitted = Result { try trainer.fit(training.dataset, onBatch: onBatch, onEpoch: { report in
            guard isLead else { return }
            files.save(TrainingCheckpoint(trainer: trainer, metadata: metadata, settings: settings), report: onWarning)
            onEpoch(report)
            // For a training report: the held-out images after each epoch (inference only; the
            // weights and the random stream are untouched, so the run is the same with or without).
            if let onHeldOut, let evaluationData {
                let evaluation = DigitEvaluation(network: trainer.network, data: evaluationData, threads: threads)
                let loss = zip(evaluation.probabilities, evaluationData.targets)
                    .reduce(0.0) { $0 - log(Double(max($1.0[$1.1], 1e-12))) } / Double(max(1, evaluationData.count))
                onHeldOut(report, loss, evaluation.report.accuracy)
            }
        }, shouldStop: shouldStop) }
        // The newest epoch's checkpoint, for a run that does not complete and keeps it.
        if isLead { files.writePendingCheckpoint(report: onWarning) }
        let summary = try fitted.get()
        let seconds = Date().timeIntervalSince(started)

        let saved = TrainingFiles.shouldSave(epochsCompleted: [summary.epochsCompleted])
        var evaluation: ClassificationReport?
        if saved, isLead, let evaluationData {
            evaluation = evaluate(trainer.network, on: evaluationData, threads: threads)
            metadata.provenance.metrics[source.isMNIST ? "test_accuracy" : "validation_accuracy"] = evaluation!.accuracy
        }
        if let last = summary.history.last { metadata.provenance.metrics["training_loss"] = last.trainingLoss }
        metadata.provenance.metrics["training_seconds"] = seconds
        metadata.provenance.epochs = summary.epochsCompleted
        if saved, isLead { try ModelFile.save(trainer.network, metadata: metadata, to: output) }
        if summary.stopReason != .interrupted, isLead { files.removeCheckpoints() }
        return DigitTrainingOutcome(metadata: metadata, summary: summary, evaluation: evaluation,
                                    skipped: training.skipped, seconds: seconds, saved: saved)
    }

    /// The training images and the held-out ones: MNIST's test set, or 10 % of an image folder.
    private static func load(_ source: DigitSource, preprocessing: DigitPreprocessing,
                             seed: UInt64) throws -> (DigitData, DigitData?) {
        switch source {
        case let .mnist(directory):
            let mnist = MNISTDirectory(directory)
            return (try mnist.training(preprocessing), try mnist.test(preprocessing))
        case let .images(directory):
            let all = try ImageFolder(directory).load(preprocessing)
            var random = RandomGenerator(seed: seed ^ 0x5EED)
            let (trainingPart, heldOut) = all.dataset.split(validationFraction: all.count >= 20 ? 0.1 : 0, random: &random)
            let training = DigitData(inputs: trainingPart.inputs, targets: trainingPart.targets.scalars.map { Int($0) },
                                     labels: all.labels, skipped: all.skipped, checksum: all.checksum)
            guard heldOut.count > 0 else { return (training, nil) }
            return (training, DigitData(inputs: heldOut.inputs, targets: heldOut.targets.scalars.map { Int($0) },
                                        labels: all.labels))
        }
    }

    /// Classifies `data` and compares with its labels.
    public static func evaluate(_ network: Network, on data: DigitData, threads: Int) -> ClassificationReport {
        let predicted = argmaxRows(network.predict(data.inputs, batchSize: 500, threads: threads))
        return ClassificationReport(actual: data.targets, predicted: predicted, classes: data.labels.count)
    }
}

extension DigitSource {
    var isMNIST: Bool { if case .mnist = self { true } else { false } }
}
