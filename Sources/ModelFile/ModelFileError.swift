/// Why a model or checkpoint file cannot be read or written. Every reader failure is one of
/// these cases; none crashes or allocates beyond what the file's size justifies.
public enum ModelFileError: Error, Equatable, CustomStringConvertible {
    /// Shorter than the 8-byte header length.
    case truncated(size: Int)
    /// The declared header length exceeds the cap.
    case headerTooLarge(length: UInt64, maximum: Int)
    /// The declared header length runs past the end of the file.
    case headerPastEnd(length: UInt64, fileSize: Int)
    /// The header is not valid UTF-8 JSON.
    case invalidHeader(String)
    /// A tensor entry is malformed (missing/unknown field, bad shape, bad offsets).
    case invalidTensorEntry(name: String, reason: String)
    /// A dtype other than the F32 this format writes.
    case unsupportedDType(name: String, dtype: String)
    /// shape × 4 bytes does not match the entry's byte range, or the arithmetic overflows.
    case sizeMismatch(name: String, reason: String)
    /// Tensor byte ranges leave a hole, overlap, or do not end where the data ends.
    case invalidOffsets(String)
    /// A NaN or infinity in a tensor.
    case nonFiniteValue(name: String, index: Int)
    /// Not a Backprop model (or checkpoint) file: the format field is absent or different.
    case notABackpropFile(found: String?)
    /// A newer major format version than this build understands.
    case newerFormatVersion(found: String, supported: String)
    /// A required metadata entry is missing or unreadable.
    case invalidMetadata(key: String, reason: String)
    /// An unknown metadata key (the reader accepts only the keys it writes).
    case unknownMetadata(key: String)
    /// The architecture cannot be built.
    case invalidArchitecture(String)
    /// A tensor the architecture needs is absent.
    case missingTensor(String)
    /// A tensor the architecture does not have.
    case unexpectedTensor(String)
    /// A tensor whose shape differs from the architecture's.
    case wrongShape(name: String, expected: [Int], found: [Int])
    /// A model made for another application.
    case wrongTask(found: String, expected: String)
    /// The file system refused (open, read, write, rename).
    case io(path: String, reason: String)

    /// The description without the path that `.io` errors start with, for callers that name
    /// the file themselves.
    public var reason: String {
        if case let .io(_, reason) = self { return reason }
        return description
    }

    public var description: String {
        switch self {
        case let .truncated(size): "file is \(size) bytes, too short for a safetensors header"
        case let .headerTooLarge(length, maximum): "header length \(length) exceeds the \(maximum)-byte limit"
        case let .headerPastEnd(length, fileSize): "header length \(length) runs past the end of the \(fileSize)-byte file"
        case let .invalidHeader(reason): "header is not valid JSON: \(reason)"
        case let .invalidTensorEntry(name, reason): "tensor \"\(name)\": \(reason)"
        case let .unsupportedDType(name, dtype): "tensor \"\(name)\" has dtype \(dtype); only F32 is supported"
        case let .sizeMismatch(name, reason): "tensor \"\(name)\": \(reason)"
        case let .invalidOffsets(reason): "tensor data offsets are invalid: \(reason)"
        case let .nonFiniteValue(name, index): "tensor \"\(name)\" holds a non-finite value at element \(index)"
        case let .notABackpropFile(found):
            "not a Backprop model file (format is \(found.map { "\"\($0)\"" } ?? "missing"))"
        case let .newerFormatVersion(found, supported):
            "written by a newer version of Backprop (format \(found); this build reads \(supported)); upgrade to load it"
        case let .invalidMetadata(key, reason): "metadata \"\(key)\": \(reason)"
        case let .unknownMetadata(key): "unknown metadata entry \"\(key)\""
        case let .invalidArchitecture(reason): "architecture: \(reason)"
        case let .missingTensor(name): "tensor \"\(name)\" is missing"
        case let .unexpectedTensor(name): "tensor \"\(name)\" is not part of the architecture"
        case let .wrongShape(name, expected, found): "tensor \"\(name)\" has shape \(found), expected \(expected)"
        case let .wrongTask(found, expected): "a \(found) model, not a \(expected) model"
        case let .io(path, reason): "\(path): \(reason)"
        }
    }
}
