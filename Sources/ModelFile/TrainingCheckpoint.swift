import Backprop

/// A training run frozen between epochs: the model's weights, the optimizer's state, the
/// trainer's state (epoch, random generator, schedule, best weights) and the application's
/// settings, in one safetensors file (`format` = "backprop-checkpoint"). Restoring all of it and
/// training on reproduces the weights of a run that never stopped.
///
/// Tensors: the parameters under their own names (`layers.0.weight`), optimizer slots as
/// `optimizer.<slot name>`, and the best epoch's weights as `best.<parameter name>`.
public struct TrainingCheckpoint {
    public static let formatName = "backprop-checkpoint"

    /// The model's description (architecture, preprocessing, labels, provenance so far).
    public var metadata: ModelMetadata
    /// Parameter values, in `Sequential.parameters` order.
    public var weights: [Tensor]
    public var optimizerState: [String: Tensor]
    public var trainerState: TrainerState
    /// The application's training options, as JSON; a resume refuses different ones.
    public var settings: String

    public init(metadata: ModelMetadata, weights: [Tensor], optimizerState: [String: Tensor],
                trainerState: TrainerState, settings: String) {
        self.metadata = metadata
        self.weights = weights
        self.optimizerState = optimizerState
        self.trainerState = trainerState
        self.settings = settings
    }

    /// Captures `trainer` (whose model `metadata` describes) as it stands.
    public init(trainer: Trainer, metadata: ModelMetadata, settings: String) {
        self.init(metadata: metadata, weights: trainer.model.weights(), optimizerState: trainer.optimizer.state,
                  trainerState: trainer.state, settings: settings)
    }

    /// Writes the checkpoint to `path`, replacing any previous file atomically.
    public func save(to path: String) throws(ModelFileError) {
        var tensors: [(name: String, tensor: Tensor)] = []
        let names = parameterNames
        tensors += zip(names, weights).map { ($0, $1) }
        tensors += optimizerState.keys.sorted().map { ("optimizer.\($0)", optimizerState[$0]!) }
        if let best = trainerState.bestWeights {
            tensors += zip(names, best).map { ("best.\($0)", $1) }
        }
        var metadataEntries = ModelFile.metadataEntries(metadata, format: Self.formatName)
        metadataEntries.append(("trainer_state", MetadataJSON.encode(TrainerStateRecord(trainerState))))
        metadataEntries.append(("settings", settings))
        try FileIO.writeAtomically(SafeTensorsFile(tensors: tensors, metadata: metadataEntries).encoded(), to: path)
    }

    /// Reads and validates a checkpoint.
    public static func load(contentsOf path: String) throws(ModelFileError) -> TrainingCheckpoint {
        let file = try SafeTensorsFile.decode(try FileIO.contents(of: path))
        try ModelFile.checkFormat(file, expected: formatName)
        let known = ModelFile.metadataKeys.union(["trainer_state", "settings"])
        if let unknown = file.metadata.first(where: { !known.contains($0.key) }) {
            throw .unknownMetadata(key: unknown.key)
        }
        let metadata = try ModelFile.decodeMetadata(file)
        let record = try MetadataJSON.decode(TrainerStateRecord.self, key: "trainer_state",
                                             from: file.metadataValue("trainer_state"))
        guard let settings = file.metadataValue("settings") else {
            throw .invalidMetadata(key: "settings", reason: "missing")
        }
        let weightTensors = file.tensors.filter { !$0.name.hasPrefix("optimizer.") && !$0.name.hasPrefix("best.") }
        let model = try ModelFile.buildModel(metadata, weights: weightTensors)
        let names = model.parameters.map(\.name)
        var optimizerState: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where name.hasPrefix("optimizer.") {
            optimizerState[String(name.dropFirst("optimizer.".count))] = tensor
        }
        let bestTensors = file.tensors.filter { $0.name.hasPrefix("best.") }
            .map { (name: String($0.name.dropFirst("best.".count)), tensor: $0.tensor) }
        var bestWeights: [Tensor]?
        if !bestTensors.isEmpty {
            try ModelFile.checkTensors(bestTensors, expected: model.parameters.map { ($0.name, $0.value.shape) })
            let byName = Dictionary(uniqueKeysWithValues: bestTensors.map { ($0.name, $0.tensor) })
            bestWeights = names.map { byName[$0]! }
        }
        let state = try record.trainerState(bestWeights: bestWeights)
        return TrainingCheckpoint(metadata: metadata, weights: model.weights(), optimizerState: optimizerState,
                                  trainerState: state, settings: settings)
    }

    /// Puts the checkpoint's weights, optimizer state and trainer state into `trainer`, whose
    /// model must have this checkpoint's architecture.
    public func restore(into trainer: Trainer) throws(ModelFileError) {
        guard trainer.model.inputShape == metadata.inputShape, trainer.model.specs == metadata.layers else {
            throw .invalidArchitecture("the checkpoint's architecture differs from the model being trained")
        }
        trainer.model.setWeights(weights)
        do {
            try trainer.optimizer.restoreState(optimizerState, for: trainer.model.parameters)
        } catch {
            throw .invalidMetadata(key: "optimizer", reason: error.message)
        }
        trainer.state = trainerState
    }

    private var parameterNames: [String] {
        var names: [String] = []
        for (index, spec) in metadata.layers.enumerated() {
            for (name, _) in spec.parameterShapes { names.append("layers.\(index).\(name)") }
        }
        return names
    }
}

/// `TrainerState` without its tensors, as JSON. The generator state is a decimal string because
/// JSON numbers lose precision above 2⁵³.
struct TrainerStateRecord: Codable {
    var epochsCompleted: Int
    var random: String
    var baseLearningRate: Float
    var scheduler: LearningRateScheduler
    var bestMetric: Double?
    var bestEpoch: Int?
    var epochsWithoutImprovement: Int
    var history: [EpochReport]

    init(_ state: TrainerState) {
        epochsCompleted = state.epochsCompleted
        random = String(state.random.state)
        baseLearningRate = state.baseLearningRate
        scheduler = state.scheduler
        bestMetric = state.bestMetric
        bestEpoch = state.bestEpoch
        epochsWithoutImprovement = state.epochsWithoutImprovement
        history = state.history
    }

    func trainerState(bestWeights: [Tensor]?) throws(ModelFileError) -> TrainerState {
        guard let randomState = UInt64(random) else {
            throw .invalidMetadata(key: "trainer_state", reason: "random is not a 64-bit integer")
        }
        guard epochsCompleted >= 0, epochsWithoutImprovement >= 0 else {
            throw .invalidMetadata(key: "trainer_state", reason: "negative counters")
        }
        var state = TrainerState(random: RandomGenerator(seed: randomState), baseLearningRate: baseLearningRate,
                                 scheduler: scheduler)
        state.random.state = randomState
        state.epochsCompleted = epochsCompleted
        state.bestMetric = bestMetric
        state.bestEpoch = bestEpoch
        state.bestWeights = bestWeights
        state.epochsWithoutImprovement = epochsWithoutImprovement
        state.history = history
        return state
    }
}
