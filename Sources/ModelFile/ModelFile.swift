import Backprop

/// Saving and loading trained networks as safetensors files that carry their own architecture,
/// preprocessing, labels and provenance in `__metadata__`.
///
/// Metadata entries (all strings, as safetensors requires):
/// `format` = "backprop-model", `format_version` = "1.0", `task`, `architecture` (JSON:
/// `{"inputShape": [...], "layers": [...]}`), `preprocessing` (JSON), `labels` (JSON array of
/// strings), `provenance` (JSON). Tensors are the network's parameters and buffers under their
/// state-dict names, Dense weights `[out, in]`, Conv2D weights `[out, in, kh, kw]`, BatchNorm
/// `weight`, `bias`, `running_mean`, `running_var`.
public enum ModelFile {
    public static let formatName = "backprop-model"
    /// Major.minor. A reader accepts any minor version of its major; a newer major is refused.
    public static let formatVersion = "1.0"

    static let metadataKeys: Set<String> = ["format", "format_version", "task", "architecture",
                                            "preprocessing", "labels", "provenance"]

    /// A model and what its file said about it.
    public struct Loaded: Sendable {
        public let network: Network
        public let metadata: ModelMetadata

        public init(network: Network, metadata: ModelMetadata) {
            self.network = network
            self.metadata = metadata
        }
    }

    /// The file contents for `network` with `metadata`.
    public static func encode(_ network: Network, metadata: ModelMetadata) -> SafeTensorsFile {
        precondition(metadata.inputShape == network.inputShape && metadata.layers == network.layers,
                     "ModelFile.encode: metadata describes a different architecture than the network")
        return SafeTensorsFile(tensors: namedTensors(network), metadata: metadataEntries(metadata, format: formatName))
    }

    /// Writes `network` to `path`, replacing any previous file atomically.
    public static func save(_ network: Network, metadata: ModelMetadata, to path: String) throws(ModelFileError) {
        try FileIO.writeAtomically(encode(network, metadata: metadata).encoded(), to: path)
    }

    /// The network's parameters and buffers under their state-dict names.
    static func namedTensors(_ network: Network) -> [(name: String, tensor: Tensor)] {
        Array(zip(network.parameterNames, network.parameters)) + Array(zip(network.bufferNames, network.buffers))
    }

    /// Reads, validates and rebuilds the model stored at `path`.
    public static func load(contentsOf path: String) throws(ModelFileError) -> Loaded {
        let bytes = try FileIO.contents(of: path)
        return try decode(try SafeTensorsFile.decode(bytes))
    }

    /// Loads a model made for `task` and decodes its preprocessing metadata as `Preprocessing`
    /// (the application's own Codable description of how inputs are prepared).
    public static func load<Preprocessing: Decodable>(
        contentsOf path: String, task: String, preprocessing: Preprocessing.Type
    ) throws(ModelFileError) -> (Loaded, Preprocessing) {
        try load(bytes: try FileIO.contents(of: path), task: task, preprocessing: preprocessing)
    }

    /// `load(contentsOf:task:preprocessing:)` for a file's bytes already in memory.
    public static func load<Preprocessing: Decodable>(
        bytes: [UInt8], task: String, preprocessing: Preprocessing.Type
    ) throws(ModelFileError) -> (Loaded, Preprocessing) {
        let loaded = try decode(try SafeTensorsFile.decode(bytes))
        guard loaded.metadata.task == task else { throw .wrongTask(found: loaded.metadata.task, expected: task) }
        let decoded = try MetadataJSON.decode(Preprocessing.self, key: "preprocessing", from: loaded.metadata.preprocessing)
        return (loaded, decoded)
    }

    /// Rebuilds a model from a decoded file: checks the format and version, accepts only the
    /// metadata keys it writes, checks that the tensors are exactly those of the architecture
    /// (names and shapes, before allocating the network), then fills the network.
    public static func decode(_ file: SafeTensorsFile) throws(ModelFileError) -> Loaded {
        try checkFormat(file, expected: formatName)
        if let unknown = file.metadata.first(where: { !metadataKeys.contains($0.key) }) {
            throw .unknownMetadata(key: unknown.key)
        }
        let metadata = try decodeMetadata(file)
        let network = try buildNetwork(metadata, tensors: file.tensors)
        return Loaded(network: network, metadata: metadata)
    }

    /// `network` with its weights replaced by tensors under its state-dict names, e.g. from a file
    /// written by Python's `safetensors` from a PyTorch state dict. Metadata is ignored.
    public static func loadWeights(from file: SafeTensorsFile, into network: Network) throws(ModelFileError) -> Network {
        var network = network
        network.setWeights(try weights(for: network.inputShape, network.layers, from: file.tensors))
        return network
    }

    // MARK: - Shared with checkpoints

    static func metadataEntries(_ metadata: ModelMetadata, format: String) -> [(key: String, value: String)] {
        [("format", format),
         ("format_version", formatVersion),
         ("task", metadata.task),
         ("architecture", MetadataJSON.encodeRecord(Architecture(inputShape: metadata.inputShape, layers: metadata.layers))),
         ("preprocessing", metadata.preprocessing),
         ("labels", MetadataJSON.encodeRecord(metadata.labels)),
         ("provenance", MetadataJSON.encodeRecord(metadata.provenance))]
    }

    static func checkFormat(_ file: SafeTensorsFile, expected: String) throws(ModelFileError) {
        let format = file.metadataValue("format")
        guard format == expected else { throw .notABackpropFile(found: format) }
        guard let version = file.metadataValue("format_version") else {
            throw .invalidMetadata(key: "format_version", reason: "missing")
        }
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Int(parts[0]), let _ = Int(parts[1]), major >= 1 else {
            throw .invalidMetadata(key: "format_version", reason: "\"\(version)\" is not major.minor")
        }
        let supportedMajor = Int(formatVersion.split(separator: ".")[0])!
        guard major <= supportedMajor else {
            throw .newerFormatVersion(found: version, supported: "\(supportedMajor).x")
        }
    }

    /// Class labels a model file may declare at most.
    public static let maximumLabels = 100_000

    static func decodeMetadata(_ file: SafeTensorsFile) throws(ModelFileError) -> ModelMetadata {
        guard let task = file.metadataValue("task"), !task.isEmpty else {
            throw .invalidMetadata(key: "task", reason: "missing")
        }
        let architecture = try MetadataJSON.decode(Architecture.self, key: "architecture",
                                                   from: file.metadataValue("architecture"))
        guard let preprocessing = file.metadataValue("preprocessing") else {
            throw .invalidMetadata(key: "preprocessing", reason: "missing")
        }
        do {
            _ = try JSONValue.parse(Array(preprocessing.utf8))
        } catch {
            throw .invalidMetadata(key: "preprocessing", reason: error.description)
        }
        let labels = try MetadataJSON.decode([String].self, key: "labels", from: file.metadataValue("labels"))
        guard labels.count <= maximumLabels, Set(labels).count == labels.count,
              labels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 1000 }) else {
            throw .invalidMetadata(key: "labels", reason: "labels must be unique, non-empty texts of at most 1,000 bytes, "
                                   + "at most \(maximumLabels) of them")
        }
        let provenance = try MetadataJSON.decode(Provenance.self, key: "provenance",
                                                 from: file.metadataValue("provenance"))
        return ModelMetadata(task: task, inputShape: architecture.inputShape, layers: architecture.layers,
                             preprocessing: preprocessing, labels: labels, provenance: provenance)
    }

    /// Builds the architecture with `tensors`, which must be exactly its parameters and buffers.
    static func buildNetwork(_ metadata: ModelMetadata,
                             tensors: [(name: String, tensor: Tensor)]) throws(ModelFileError) -> Network {
        let weights = try weights(for: metadata.inputShape, metadata.layers, from: tensors)
        do {
            return try Network(inputShape: metadata.inputShape, layers: metadata.layers, weights: weights)
        } catch {
            throw .invalidArchitecture(error.message)
        }
    }

    /// The architecture's parameters and buffers, in order, found by name in `tensors`, which must
    /// hold exactly those with their shapes. Names and shapes come from the specs alone, so a
    /// hostile architecture cannot make us allocate more than the tensors present in the file.
    static func weights(for inputShape: [Int], _ layers: [LayerSpec],
                        from tensors: [(name: String, tensor: Tensor)]) throws(ModelFileError) -> Network.Weights {
        var parameters: [(name: String, shape: [Int])] = [], buffers: [(name: String, shape: [Int])] = []
        for (index, spec) in layers.enumerated() {
            for (name, shape) in spec.parameterShapes { parameters.append(("layers.\(index).\(name)", shape)) }
            for (name, shape) in spec.bufferShapes { buffers.append(("layers.\(index).\(name)", shape)) }
        }
        try checkTensors(tensors, expected: parameters + buffers)
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) })
        return Network.Weights(parameters: parameters.map { byName[$0.name]! }, buffers: buffers.map { byName[$0.name]! })
    }

    /// The tensors must be exactly `expected`: every name present with its shape, nothing else.
    static func checkTensors(_ tensors: [(name: String, tensor: Tensor)],
                             expected: [(name: String, shape: [Int])]) throws(ModelFileError) {
        var present: [String: [Int]] = [:]
        for (name, tensor) in tensors {
            guard present.updateValue(tensor.shape, forKey: name) == nil else {
                throw .invalidTensorEntry(name: name, reason: "appears twice")
            }
        }
        for (name, shape) in expected {
            guard let found = present.removeValue(forKey: name) else { throw .missingTensor(name) }
            guard found == shape else { throw .wrongShape(name: name, expected: shape, found: found) }
        }
        if let extra = present.keys.sorted().first { throw .unexpectedTensor(extra) }
    }
}
