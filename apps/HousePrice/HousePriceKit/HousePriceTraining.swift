import Backprop
import Foundation
import ModelFile
import MatrixKernels
import StrictCSV

/// Options of `house-price train` that decide the trained weights (threads do not).
public struct HousePriceOptions: Codable, Equatable, Sendable {
    public var target: String
    /// Which columns are left out, their types where the user sets them, and missing markers.
    public var typing = ColumnTyping.Options()
    /// Columns left out (ids, leaks): `typing.drop`.
    public var drop: [String] {
        get { typing.drop }
        set { typing.drop = newValue }
    }
    public var logTarget = false
    public var epochs = 60
    public var batchSize = 256
    /// Peak learning rate of the cosine schedule (AdamW).
    public var learningRate: Float = 0.002
    public var hidden = [128, 128]
    public var seed: UInt64 = 1
    /// Share of the rows held out to choose the best epoch and report metrics.
    public var validation = 0.1
    /// Stop after this many epochs without a better validation loss.
    public var patience = 20
    /// Bins of the piecewise-linear encoding of numeric columns (0: standardised values only).
    public var bins = FeaturePipeline.defaultBins
    /// Where the bins' edges go.
    public var binPlacement = BinPlacement.quantiles
    /// Which columns give a house's location.
    public var coordinates = FeaturePipeline.CoordinateColumns.automatic
    /// Dropout after each hidden layer.
    public var dropout: Float = 0.1
    /// AdamW's decoupled weight decay.
    public var weightDecay: Float = 0.01
    /// Networks trained (in parallel, one per thread) and averaged into the saved model.
    public var ensemble = 4
    /// Shards per batch (``ShardChoice``): nil for one, or chosen at run time from the ranks.
    public var shards: Int?
    /// Categories seen in fewer training rows share the "other" bucket.
    public var minimumCategoryCount = FeaturePipeline.defaultMinimumCategoryCount
    /// The training file's field separator and decimal separator where the user sets them; nil
    /// parts are told from the file (``CSVDialect``).
    public var delimiter: UInt8?
    public var decimalSeparator: DecimalSeparator?

    public init(target: String) { self.target = target }
}

/// Reads a CSV file into a table, with errors naming the file; its dialect is told from the file
/// but for a `delimiter` or `decimalSeparator` given.
public func readCSV(_ path: String, delimiter: UInt8? = nil, decimalSeparator: DecimalSeparator? = nil) throws(HousePriceError) -> CSVTable {
    try readCSVFile(path, delimiter: delimiter, decimalSeparator: decimalSeparator).table
}

/// The table and the SHA-256 of the file's bytes, read once.
func readCSVFile(_ path: String, delimiter: UInt8? = nil,
                 decimalSeparator: DecimalSeparator? = nil) throws(HousePriceError) -> (table: CSVTable, sha256: String) {
    let data: [UInt8]
    do {
        data = try FileIO.contents(of: path)
    } catch {
        throw .unreadable(path: path, reason: error.reason)
    }
    let table: CSVTable
    do {
        table = try CSVTable.parse(data, name: path, delimiter: delimiter, decimalSeparator: decimalSeparator)
    } catch {
        throw .malformedCSV(error)
    }
    guard !table.rows.isEmpty else { throw .notEnoughData(file: path, reason: "has a header but no data rows") }
    return (table, Checksum.sha256(data))
}

/// What a training run produced.
public struct HousePriceTrainingOutcome {
    public let metadata: ModelMetadata
    public let pipeline: FeaturePipeline
    /// On the held-out validation rows, in the target's units (nil without validation rows).
    public let validationMetrics: RegressionMetrics?
    /// One per ensemble member.
    public let summaries: [TrainingSummary]
    /// Things the user should know about the data (skipped rows, ignored columns, identifiers...),
    /// also given to `onDataWarnings` before training started.
    public let warnings: [String]
    /// Training time in seconds, CSV parsing and preprocessing excluded.
    public let seconds: Double
    /// Whether the model was written: not when no network finished an epoch.
    public let saved: Bool
}

/// Trains the price regressor from a CSV file and saves it (with its fitted preprocessing).
public enum HousePriceTraining {
    public static let minimumRows = 20

    /// The checkpoint of ensemble member `member` (0-based) next to `output`.
    public static func checkpointPath(for output: String, member: Int = 0, of members: Int = 1) -> String {
        TrainingFiles(output: output, networks: members).checkpoints[member]
    }

    /// The network for `features` inputs: dense + ReLU (+ dropout) per hidden width, then one output.
    public static func layers(features: Int, hidden: [Int], dropout: Float = 0) -> [LayerSpec] {
        var layers: [LayerSpec] = []
        var width = features
        for size in hidden {
            layers += [.dense(inputSize: width, outputSize: size), .relu]
            if dropout > 0 { layers.append(.dropout(rate: dropout)) }
            width = size
        }
        return layers + [.dense(inputSize: width, outputSize: 1)]
    }

    /// A CSV file made ready for training: the fitted pipeline and the encoded rows.
    struct PreparedData {
        let pipeline: FeaturePipeline
        /// Things the user should know about the data.
        let warnings: [String]
        let dataSHA256: String
        let training: Dataset
        let validation: Dataset?
        /// The validation rows' targets, in the target's units.
        let validationTargets: [Double]
        /// The run's generator after the split, for the members' initialisation.
        let random: RandomGenerator
    }

    /// Reads the CSV, splits its rows into training and validation, and fits the pipeline on the
    /// training rows.
    static func prepare(csv path: String, options: HousePriceOptions) throws -> PreparedData {
        let (table, dataSHA256) = try readCSVFile(path, delimiter: options.delimiter, decimalSeparator: options.decimalSeparator)
        var warnings: [String] = []
        // A file not written the RFC 4180 way says how it was read, so that a wrong guess shows.
        if table.dialect != .standard {
            warnings.append("\(path) is read with \(table.dialect.summary); --delimiter and --decimal say otherwise")
        }
        let (targets, missingLines) = try FeaturePipeline.readTargets(table, name: path, target: options.target,
                                                                      logTarget: options.logTarget)
        if !missingLines.isEmpty {
            warnings.append("skipped \(missingLines.count) row(s) without a \"\(options.target)\" value (line"
                + (missingLines.count > 1 ? "s " : " ") + missingLines.prefix(5).map(String.init).joined(separator: ", ")
                + (missingLines.count > 5 ? ", ..." : "") + ")")
        }
        guard targets.count >= minimumRows else {
            throw HousePriceError.notEnoughData(file: path, reason: "\(targets.count) row(s) with a target value; training needs at least \(minimumRows)")
        }
        var random = RandomGenerator(seed: options.seed)
        var rows = targets.keys.sorted()
        rows.shuffle(using: &random)
        let validationCount = options.validation > 0 ? max(1, Int((Double(rows.count) * options.validation).rounded())) : 0
        let validationRows = Array(rows[..<validationCount]).sorted()
        let trainingRows = Array(rows[validationCount...]).sorted()

        let (pipeline, pipelineWarnings) = try FeaturePipeline.fit(
            table, name: path, target: options.target, typing: options.typing, logTarget: options.logTarget,
            bins: options.bins, binPlacement: options.binPlacement, minimumCategoryCount: options.minimumCategoryCount,
            coordinates: options.coordinates, trainingRows: trainingRows, targets: targets)
        warnings += pipelineWarnings
        func dataset(_ rows: [Int]) throws -> Dataset {
            let (inputs, _) = try pipeline.features(table, name: path, rows: rows)
            return Dataset(inputs: inputs, targets: Tensor(shape: [rows.count, 1], scalars: rows.map { pipeline.encodeTarget(targets[$0]!) }))
        }
        return PreparedData(pipeline: pipeline, warnings: warnings, dataSHA256: dataSHA256, training: try dataset(trainingRows),
                            validation: validationRows.isEmpty ? nil : try dataset(validationRows),
                            validationTargets: validationRows.map { targets[$0]! }, random: random)
    }

    /// Trains per `options` on the CSV at `path` and writes the model to `output`; `resume`
    /// continues from the checkpoints next to `output` (same options required). With an
    /// ensemble, `onEpoch` is called from each member's thread, possibly at the same time.
    ///
    /// With `group`, this process is one rank of a data-parallel run (see ``DataParallel``): every
    /// rank reads the CSV; the members train one after another, each on all the ranks; rank 0
    /// alone checks and writes the output, checkpoints and model, and reads the checkpoints to
    /// resume from and sends them to the others.
    public static func run(csv path: String, options: HousePriceOptions, output: String, threads: Int,
                           resume: Bool, command: String, group: DataParallel? = nil,
                           onBatch: (BatchProgress) -> Void = { _ in },
                           onEpoch: (_ member: Int, EpochReport) -> Void = { _, _ in },
                           onDataWarnings: ([String]) -> Void = { _ in },
                           onWarning: (String) -> Void = { _ in },
                           shouldStop: () -> Bool = { false }) throws -> HousePriceTrainingOutcome {
        let memberCount = max(1, options.ensemble)
        let files = TrainingFiles(output: output, networks: memberCount)
        let isLead = group?.isLead ?? true
        // Each rank reads its copy of the CSV; a rank that cannot ends the run, naming itself.
        let prepared = try DataParallel.together(group) {
            if isLead { try files.checkBeforeTraining(resume: resume) }
            return try prepare(csv: path, options: options)
        }
        let (pipeline, warnings, dataSHA256, training, validation) =
            (prepared.pipeline, prepared.warnings, prepared.dataSHA256, prepared.training, prepared.validation)
        // Said before training starts, so that a user can stop and fix the file at once.
        if !warnings.isEmpty { onDataWarnings(warnings) }

        // Resuming: rank 0 reads the checkpoints and sends them to the others. A network
        // interrupted before finishing its first epoch has none: it starts over, which reproduces
        // the original run because its start comes from the seed.
        var checkpoints = [TrainingCheckpoint?](repeating: nil, count: memberCount)
        if resume {
            for member in 0..<memberCount {
                var bytes = try DataParallel.together(group) { () throws -> [UInt8] in
                    let path = files.checkpoints[member]
                    return isLead && FileManager.default.fileExists(atPath: path) ? try FileIO.contents(of: path) : []
                }
                group?.broadcastBytes(&bytes)
                if !bytes.isEmpty { checkpoints[member] = try DataParallel.together(group) { try TrainingCheckpoint.decode(bytes) } }
            }
        }
        let layers = layers(features: pipeline.featureCount, hidden: options.hidden, dropout: options.dropout)
        var options = options
        let resumedShards = checkpoints.compactMap { $0 }.first
            .flatMap { try? JSONDecoder().decode(HousePriceOptions.self, from: Data($0.settings.utf8)) }?.shards
        let shards = try DataParallel.together(group) {
            try ShardChoice(requested: options.shards, resumed: resumedShards, ranks: group?.size ?? 1, layers: layers)
        }
        options.shards = shards.recorded
        let settings = try MetadataJSON.encode(options)
        try group?.requireSame(settings, what: "the training options")
        try group?.requireSame("SHA-256 " + dataSHA256, what: "the CSV files")

        // Each member draws its own stream from the run's generator: reproducible and independent.
        var random = prepared.random
        let memberThreads = memberCount >= threads && group == nil ? 1 : threads
        var trainers: [Trainer] = []
        for _ in 0..<memberCount {
            var memberRandom = random.split()
            let network = try Network(inputShape: [pipeline.featureCount], layers: layers, random: &memberRandom)
            var configuration = TrainingConfiguration(
                epochs: options.epochs, batchSize: options.batchSize,
                schedule: .cosine(warmupEpochs: Double(options.epochs) * 0.05, minimumFactor: 0.01),
                earlyStoppingPatience: validation == nil ? nil : options.patience, threads: memberThreads,
                shards: shards.shards)
            configuration.thermometerInput = pipeline.thermometerColumns
            let trainer = Trainer(network: network, loss: MeanSquaredError(),
                                  optimizer: AdamW(learningRate: options.learningRate, weightDecay: options.weightDecay),
                                  configuration: configuration, random: memberRandom)
            trainer.dataParallel = group
            trainers.append(trainer)
        }

        var metadata = ModelMetadata(
            task: "house-price", inputShape: [pipeline.featureCount], layers: trainers[0].network.layers,
            preprocessing: try MetadataJSON.encode(pipeline),
            provenance: Provenance(seed: options.seed, epochs: options.epochs,
                                   dataSHA256: dataSHA256, command: command))
        for (member, checkpoint) in checkpoints.enumerated() {
            guard let checkpoint else { continue }
            try DataParallel.together(group) {
                let checkpointPath = files.checkpoints[member]
                guard checkpoint.settings == settings else {
                    throw HousePriceError.checkpointMismatch(file: checkpointPath, reason: "made with other options (\(checkpoint.settings)); resume with the same ones")
                }
                guard checkpoint.metadata.preprocessing == metadata.preprocessing else {
                    throw HousePriceError.checkpointMismatch(file: checkpointPath, reason: "made from different data; resume with the same CSV file")
                }
                try checkpoint.restore(into: trainers[member])
            }
            metadata.provenance.created = checkpoint.metadata.provenance.created
        }

        // Members train side by side, one per thread: their matrices are too small for two
        // threads to share one, so this is where a second core pays. Over MPI they take turns,
        // each on every rank (the ranks' collectives must come in one order).
        let started = Date()
        var outcomes = [Result<TrainingSummary, any Error>?](repeating: nil, count: memberCount)
        let memberMetadata = metadata
        func train(_ member: Int) -> Result<TrainingSummary, any Error> {
            let trainer = trainers[member]
            let fitted = Result {
                try trainer.fit(training, validation: validation, onBatch: { if member == 0 || group != nil { onBatch($0) } },
                                onEpoch: { report in
                    if isLead {
                        files.save(TrainingCheckpoint(trainer: trainer, metadata: memberMetadata, settings: settings),
                                   network: member, report: onWarning)
                    }
                    onEpoch(member, report)
                }, shouldStop: shouldStop)
            }
            // The newest epoch's checkpoint, whatever the outcome: a member that completes before
            // another is interrupted keeps its checkpoint too, and --resume should find it done.
            if isLead { files.writePendingCheckpoint(network: member, report: onWarning) }
            return fitted
        }
        if group != nil {
            for member in 0..<memberCount {
                outcomes[member] = train(member)
                // A stop request ends the run: the members after it go on with --resume. They keep
                // what a checkpoint restored, at its best epoch, as an interrupted member would.
                guard case let .success(summary) = outcomes[member]!, summary.stopReason == .interrupted else { continue }
                for later in (member + 1)..<memberCount {
                    let state = trainers[later].state
                    if let best = state.bestWeights { trainers[later].network.setWeights(best) }
                    outcomes[later] = .success(TrainingSummary(stopReason: .interrupted, epochsCompleted: state.epochsCompleted,
                                                               bestEpoch: state.bestEpoch, history: state.history))
                }
                break
            }
        } else {
            outcomes.withUnsafeMutableBufferPointer { results in
                Parallel.forEach(tasks: memberCount, threads: min(threads, memberCount)) { results[$0] = train($0) }
            }
        }
        let summaries = try outcomes.map { try $0!.get() }
        let seconds = Date().timeIntervalSince(started)
        let saved = TrainingFiles.shouldSave(epochsCompleted: summaries.map(\.epochsCompleted))
        guard saved else {
            return HousePriceTrainingOutcome(metadata: metadata, pipeline: pipeline, validationMetrics: nil,
                                             summaries: summaries, warnings: warnings, seconds: seconds, saved: false)
        }
        // An interrupted ensemble saves only the networks that finished an epoch: an untrained one
        // would drag the mean towards noise. (Its checkpoint-less members restart on --resume.)
        let trained = trainers.indices.filter { summaries[$0].epochsCompleted > 0 }.map { trainers[$0].network }
        let network = trained.count == 1 ? trained[0]
            : try EnsembleMerger.merge(trained, hidden: options.hidden, dropout: options.dropout)
        metadata.layers = network.layers

        var metrics: RegressionMetrics?
        if let validation {
            let outputs = network.predict(validation.inputs, threads: threads)
            metrics = RegressionMetrics(predicted: outputs.scalars.map(pipeline.decodeTarget),
                                        actual: prepared.validationTargets)
            metadata.provenance.metrics = ["validation_rmse": metrics!.rmse, "validation_mae": metrics!.mae,
                                           "validation_r2": metrics!.r2, "validation_rmsle": metrics!.rmsle]
        }
        metadata.provenance.metrics["training_seconds"] = seconds
        metadata.provenance.epochs = summaries.map(\.epochsCompleted).max() ?? 0
        for (member, summary) in summaries.enumerated() {
            if let best = summary.bestEpoch { metadata.provenance.metrics["best_epoch_\(member + 1)"] = Double(best) }
        }
        if isLead { try ModelFile.save(network, metadata: metadata, to: output) }
        if !summaries.contains(where: { $0.stopReason == .interrupted }), isLead { files.removeCheckpoints() }
        return HousePriceTrainingOutcome(metadata: metadata, pipeline: pipeline, validationMetrics: metrics,
                                         summaries: summaries, warnings: warnings, seconds: seconds, saved: true)
    }
}
