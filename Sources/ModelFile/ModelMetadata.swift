import Backprop
import Foundation

/// Everything a model file says besides its weights: what the model is for, its architecture,
/// how inputs must be prepared, what its outputs mean, and where it came from.
public struct ModelMetadata: Equatable, Sendable {
    /// `house-price` or `digits` (any identifier an application chooses).
    public var task: String
    /// Per-sample input shape, e.g. `[1, 28, 28]`.
    public var inputShape: [Int]
    /// The layers, in order.
    public var layers: [LayerSpec]
    /// The application's preprocessing, as JSON text (feature statistics, vocabularies, image
    /// normalisation...). Opaque to this module.
    public var preprocessing: String
    /// Names of the output classes (empty for regression).
    public var labels: [String]
    public var provenance: Provenance

    public init(task: String, inputShape: [Int], layers: [LayerSpec], preprocessing: String = "{}",
                labels: [String] = [], provenance: Provenance) {
        self.task = task
        self.inputShape = inputShape
        self.layers = layers
        self.preprocessing = preprocessing
        self.labels = labels
        self.provenance = provenance
    }
}

/// Where a model came from.
public struct Provenance: Codable, Equatable, Sendable {
    /// The Backprop version that trained it.
    public var toolVersion: String
    /// UTC time of training, ISO 8601.
    public var created: String
    public var seed: UInt64
    public var epochs: Int
    /// SHA-256 of the training data file(s).
    public var dataSHA256: String
    /// Final metrics by name (e.g. `validation_rmse`, `test_accuracy`).
    public var metrics: [String: Double]
    /// The command line that trained it.
    public var command: String

    public init(toolVersion: String = BackpropVersion.current, created: String = Provenance.now(), seed: UInt64,
                epochs: Int, dataSHA256: String, metrics: [String: Double] = [:], command: String = "") {
        self.toolVersion = toolVersion
        self.created = created
        self.seed = seed
        self.epochs = epochs
        self.dataSHA256 = dataSHA256
        self.metrics = metrics
        self.command = command
    }

    /// The current time in UTC, ISO 8601 to the second.
    public static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }
}

/// The version of this package, recorded in every file it writes.
public enum BackpropVersion {
    public static let current = "0.2.0"
}

/// The architecture as stored in the `architecture` metadata entry.
struct Architecture: Codable, Equatable {
    var inputShape: [Int]
    var layers: [LayerSpec]
}

/// The one JSON encoding the package uses for what it stores and prints: keys sorted (so equal
/// values always give equal text, which resume checks rely on) and slashes unescaped.
public enum MetadataJSON {
    /// `value` as JSON text.
    /// - Throws: `EncodingError` for values JSON cannot hold (NaN, infinity).
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// For the package's own records, which hold no floating-point values JSON cannot encode.
    static func encodeRecord<T: Encodable>(_ value: T) -> String {
        // Architecture, labels and trainer state are integers, strings and finite settings.
        try! encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, key: String, from text: String?) throws(ModelFileError) -> T {
        guard let text else { throw .invalidMetadata(key: key, reason: "missing") }
        // The header parser already rejected duplicate keys in the header itself; nested JSON in
        // metadata values is checked the same way before it is decoded.
        do {
            _ = try JSONValue.parse(Array(text.utf8))
        } catch {
            throw .invalidMetadata(key: key, reason: error.description)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw .invalidMetadata(key: key, reason: describe(error))
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case let .keyNotFound(key, context)?:
            return "missing \"\(key.stringValue)\"" + path(context)
        case let .typeMismatch(_, context)?, let .valueNotFound(_, context)?, let .dataCorrupted(context)?:
            return context.debugDescription + path(context)
        default:
            return "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.isEmpty ? "" : " at " + context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
