import Backprop

/// A training run frozen between epochs: the model's weights, the optimizer's state, the
/// trainer's state (epoch, random generator, schedule, best weights) and the application's
/// settings, in one safetensors file (`format` = "backprop-checkpoint"). Restoring all of it and
/// training on reproduces the weights of a run that never stopped.
///
/// Tensors: the parameters and buffers under their own names (`layers.0.weight`), the optimizer's
/// step count as `optimizer.step` and its slots as `optimizer.<parameter name>.<slot name>`, and the
/// best epoch's weights as `best.<parameter or buffer name>`.
public struct TrainingCheckpoint: Sendable {
    public static let formatName = "backprop-checkpoint"

    /// The model's description (architecture, preprocessing, labels, provenance so far).
    public var metadata: ModelMetadata
    /// Parameters and buffers of the network being trained.
    public var weights: Network.Weights
    public var optimizerState: OptimizerState
    public var trainerState: TrainerState
    /// The application's training options, as JSON; a resume refuses different ones.
    public var settings: String

    public init(metadata: ModelMetadata, weights: Network.Weights, optimizerState: OptimizerState,
                trainerState: TrainerState, settings: String) {
        self.metadata = metadata
        self.weights = weights
        self.optimizerState = optimizerState
        self.trainerState = trainerState
        self.settings = settings
    }

    /// Captures `trainer` (whose network `metadata` describes) as it stands.
    public init(trainer: Trainer, metadata: ModelMetadata, settings: String) {
        self.init(metadata: metadata, weights: trainer.network.weights, optimizerState: trainer.optimizer.state,
                  trainerState: trainer.state, settings: settings)
    }

    /// Writes the checkpoint to `path`, replacing any previous file atomically.
    public func save(to path: String) throws(ModelFileError) {
        let (parameterNames, bufferNames) = Self.names(metadata.layers)
        var tensors: [(name: String, tensor: Tensor)] = []
        tensors += Array(zip(parameterNames, weights.parameters)) + Array(zip(bufferNames, weights.buffers))
        tensors.append(("optimizer.step", Tensor(shape: [1], scalars: [Float(optimizerState.step)])))
        for slot in optimizerState.slots.keys.sorted() {
            tensors += zip(parameterNames, optimizerState.slots[slot]!).map { ("optimizer.\($0).\(slot)", $1) }
        }
        if let best = trainerState.bestWeights {
            tensors += zip(parameterNames + bufferNames, best.parameters + best.buffers).map { ("best.\($0)", $1) }
        }
        var metadataEntries = ModelFile.metadataEntries(metadata, format: Self.formatName)
        metadataEntries.append(("trainer_state", MetadataJSON.encodeRecord(TrainerStateRecord(trainerState))))
        metadataEntries.append(("settings", settings))
        try FileIO.writeAtomically(SafeTensorsFile(tensors: tensors, metadata: metadataEntries).encoded(), to: path)
    }

    /// Reads and validates a checkpoint.
    public static func load(contentsOf path: String) throws(ModelFileError) -> TrainingCheckpoint {
        try decode(try FileIO.contents(of: path))
    }

    /// Validates and decodes a checkpoint file's bytes (e.g. read by one rank and broadcast).
    public static func decode(_ bytes: [UInt8]) throws(ModelFileError) -> TrainingCheckpoint {
        let file = try SafeTensorsFile.decode(bytes)
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
        let network = try ModelFile.buildNetwork(metadata, tensors: weightTensors)
        let optimizerState = try Self.optimizerState(
            file.tensors.filter { $0.name.hasPrefix("optimizer.") }, parameterNames: network.parameterNames)
        let bestTensors = file.tensors.filter { $0.name.hasPrefix("best.") }
            .map { (name: String($0.name.dropFirst("best.".count)), tensor: $0.tensor) }
        let bestWeights = bestTensors.isEmpty ? nil
            : try ModelFile.weights(for: metadata.inputShape, metadata.layers, from: bestTensors)
        let state = try record.trainerState(bestWeights: bestWeights)
        return TrainingCheckpoint(metadata: metadata, weights: network.weights, optimizerState: optimizerState,
                                  trainerState: state, settings: settings)
    }

    /// Puts the checkpoint's weights, optimizer state and trainer state into `trainer`, whose
    /// network must have this checkpoint's architecture.
    public func restore(into trainer: Trainer) throws(ModelFileError) {
        guard trainer.network.inputShape == metadata.inputShape, trainer.network.layers == metadata.layers else {
            throw .invalidArchitecture("the checkpoint's architecture differs from the network being trained")
        }
        trainer.network.setWeights(weights)
        do {
            try trainer.optimizer.restoreState(optimizerState, for: trainer.network)
        } catch {
            throw .invalidMetadata(key: "optimizer", reason: error.message)
        }
        trainer.state = trainerState
    }

    /// State-dict names of the parameters and buffers of `layers`.
    private static func names(_ layers: [LayerSpec]) -> (parameters: [String], buffers: [String]) {
        var parameters: [String] = [], buffers: [String] = []
        for (index, spec) in layers.enumerated() {
            parameters += spec.parameterShapes.map { "layers.\(index).\($0.name)" }
            buffers += spec.bufferShapes.map { "layers.\(index).\($0.name)" }
        }
        return (parameters, buffers)
    }

    /// The optimizer state from its tensors: `optimizer.step` and `optimizer.<parameter>.<slot>`.
    /// Shapes are checked when the state is restored into an optimizer.
    private static func optimizerState(_ tensors: [(name: String, tensor: Tensor)],
                                       parameterNames: [String]) throws(ModelFileError) -> OptimizerState {
        var step: Int?
        var slots: [String: [Tensor?]] = [:]
        let indices = Dictionary(uniqueKeysWithValues: parameterNames.enumerated().map { ($1, $0) })
        for (name, tensor) in tensors {
            let key = name.dropFirst("optimizer.".count)
            if key == "step" {
                guard tensor.count == 1, let value = Int(exactly: tensor.scalars[0]), value >= 0 else {
                    throw .invalidMetadata(key: "optimizer", reason: "optimizer.step is not a step count")
                }
                step = value
                continue
            }
            guard let dot = key.lastIndex(of: "."), let index = indices[String(key[..<dot])] else {
                throw .unexpectedTensor(name)
            }
            let slot = String(key[key.index(after: dot)...])
            var list = slots[slot] ?? Array(repeating: nil, count: parameterNames.count)
            list[index] = tensor
            slots[slot] = list
        }
        guard let step else { throw .invalidMetadata(key: "optimizer", reason: "optimizer.step is missing") }
        var complete: [String: [Tensor]] = [:]
        for (slot, list) in slots {
            guard let missing = list.firstIndex(where: { $0 == nil }) else {
                complete[slot] = list.map { $0! }
                continue
            }
            throw .missingTensor("optimizer.\(parameterNames[missing]).\(slot)")
        }
        return OptimizerState(step: step, slots: complete)
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

    func trainerState(bestWeights: Network.Weights?) throws(ModelFileError) -> TrainerState {
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
