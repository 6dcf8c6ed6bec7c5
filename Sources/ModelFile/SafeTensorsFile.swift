import Backprop

/// The safetensors container: an 8-byte little-endian header length N, N bytes of JSON (padded
/// with spaces so that the data starts 8-byte aligned), then the raw little-endian tensor bytes.
///
///     {"__metadata__": {"key": "value", ...},
///      "layers.0.weight": {"dtype": "F32", "shape": [128, 784], "data_offsets": [0, 401408]}, ...}
///
/// Python's `safetensors.numpy.load_file` reads what `encoded()` writes, and `decode` reads what
/// it writes (F32 tensors). `decode` enforces every rule of the reference reader and more: see
/// `decode(_:)`.
public struct SafeTensorsFile: Equatable, Sendable {
    /// Tensors in file order. Names are unique.
    public var tensors: [(name: String, tensor: Tensor)]
    /// String-to-string metadata (`__metadata__`), in file order. Keys are unique.
    public var metadata: [(key: String, value: String)]

    /// Headers longer than this are refused before anything else is read. Smaller than the
    /// reference reader's 100 MB: our headers hold architectures and preprocessing, and the
    /// parsed JSON tree may take several times the header's bytes.
    public static let maximumHeaderSize = 16 << 20

    public init(tensors: [(name: String, tensor: Tensor)] = [], metadata: [(key: String, value: String)] = []) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public static func == (lhs: SafeTensorsFile, rhs: SafeTensorsFile) -> Bool {
        lhs.tensors.count == rhs.tensors.count && lhs.metadata.count == rhs.metadata.count
            && zip(lhs.tensors, rhs.tensors).allSatisfy { $0.name == $1.name && $0.tensor == $1.tensor }
            && zip(lhs.metadata, rhs.metadata).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// The metadata value for `key`, if present.
    public func metadataValue(_ key: String) -> String? {
        metadata.first { $0.key == key }?.value
    }

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            members.append(("__metadata__", .object(metadata.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for (name, tensor) in tensors {
            let size = tensor.count * 4
            members.append((name, .object([
                ("dtype", .string("F32")),
                ("shape", .array(tensor.shape.map { .number(String($0)) })),
                ("data_offsets", .array([.number(String(offset)), .number(String(offset + size))])),
            ])))
            offset += size
        }
        var header = Array(JSONValue.object(members).serialized.utf8)
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: header)
        for (_, tensor) in tensors {
            tensor.withUnsafeBufferPointer { values in
                for value in values {
                    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
                }
            }
        }
        return bytes
    }

    /// Parses and validates a whole file.
    ///
    /// Checks, in order: the length prefix fits the file and the cap; the header is UTF-8 JSON
    /// (strict: no duplicate keys, bounded nesting); `__metadata__` maps strings to strings; every
    /// tensor entry has exactly `dtype`, `shape` and `data_offsets`, dtype F32, non-negative
    /// integer extents, and a byte range equal to shape × 4 (overflow-checked); the ranges are
    /// contiguous from 0, without holes or overlaps, and end exactly at the end of the file; every
    /// value is finite. Tensor memory is allocated only after all of that holds, so a hostile
    /// header cannot make the reader allocate more than the file's own size.
    public static func decode(_ bytes: [UInt8]) throws(ModelFileError) -> SafeTensorsFile {
        guard bytes.count >= 8 else { throw .truncated(size: bytes.count) }
        var length: UInt64 = 0
        for i in (0..<8).reversed() { length = length << 8 | UInt64(bytes[i]) }
        guard length <= UInt64(maximumHeaderSize) else {
            throw .headerTooLarge(length: length, maximum: maximumHeaderSize)
        }
        guard length <= UInt64(bytes.count - 8) else { throw .headerPastEnd(length: length, fileSize: bytes.count) }
        let headerEnd = 8 + Int(length)
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes[8..<headerEnd])
        } catch {
            throw .invalidHeader(error.description)
        }
        guard let members = root.objectMembers else { throw .invalidHeader("the header is not a JSON object") }

        var metadata: [(key: String, value: String)] = []
        var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard let pairs = value.objectMembers else {
                    throw .invalidMetadata(key: "__metadata__", reason: "must be an object")
                }
                for (key, item) in pairs {
                    guard let text = item.stringValue else {
                        throw .invalidMetadata(key: key, reason: "values must be strings")
                    }
                    metadata.append((key, text))
                }
                continue
            }
            entries.append(try parseEntry(name: name, value))
        }

        // Contiguous from 0 in offset order, ending exactly at the end of the data.
        let dataSize = bytes.count - headerEnd
        var expectedBegin = 0
        for entry in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            guard entry.begin == expectedBegin else {
                throw .invalidOffsets(entry.begin > expectedBegin
                    ? "a gap before \"\(entry.name)\" (bytes \(expectedBegin)..<\(entry.begin) unused)"
                    : "\"\(entry.name)\" overlaps the tensor before it")
            }
            expectedBegin = entry.end
        }
        guard expectedBegin == dataSize else {
            throw .invalidOffsets("tensors cover \(expectedBegin) bytes but the file holds \(dataSize) bytes of data")
        }

        var tensors: [(name: String, tensor: Tensor)] = []
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            let count = (entry.end - entry.begin) / 4
            var firstNonFinite: Int?
            let tensor = Tensor(shape: entry.shape) { out in
                bytes.withUnsafeBytes { raw in
                    let base = headerEnd + entry.begin
                    for i in 0..<count {
                        let bits = raw.loadUnaligned(fromByteOffset: base + 4 * i, as: UInt32.self)
                        let value = Float(bitPattern: UInt32(littleEndian: bits))
                        if !value.isFinite && firstNonFinite == nil { firstNonFinite = i }
                        out[i] = value
                    }
                }
            }
            if let index = firstNonFinite { throw .nonFiniteValue(name: entry.name, index: index) }
            tensors.append((entry.name, tensor))
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    private static func parseEntry(name: String, _ value: JSONValue) throws(ModelFileError)
        -> (name: String, shape: [Int], begin: Int, end: Int) {
        guard let fields = value.objectMembers else {
            throw .invalidTensorEntry(name: name, reason: "entry is not an object")
        }
        var dtype: String?
        var shape: [Int]?
        var offsets: (Int, Int)?
        for (field, item) in fields {
            switch field {
            case "dtype":
                guard let text = item.stringValue else { throw .invalidTensorEntry(name: name, reason: "dtype is not a string") }
                dtype = text
            case "shape":
                guard case let .array(extents) = item else { throw .invalidTensorEntry(name: name, reason: "shape is not an array") }
                var parsed: [Int] = []
                for extent in extents {
                    guard let n = extent.nonNegativeInteger else {
                        throw .invalidTensorEntry(name: name, reason: "shape entries must be non-negative integers")
                    }
                    parsed.append(n)
                }
                shape = parsed
            case "data_offsets":
                guard case let .array(pair) = item, pair.count == 2,
                      let begin = pair[0].nonNegativeInteger, let end = pair[1].nonNegativeInteger else {
                    throw .invalidTensorEntry(name: name, reason: "data_offsets must be two non-negative integers")
                }
                guard end >= begin else {
                    throw .invalidOffsets("\"\(name)\" ends (\(end)) before it begins (\(begin))")
                }
                offsets = (begin, end)
            default:
                throw .invalidTensorEntry(name: name, reason: "unknown field \"\(field)\"")
            }
        }
        guard let dtype, let shape, let offsets else {
            throw .invalidTensorEntry(name: name, reason: "dtype, shape and data_offsets are all required")
        }
        guard dtype == "F32" else { throw .unsupportedDType(name: name, dtype: dtype) }
        var elements = 1
        for extent in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw .sizeMismatch(name: name, reason: "shape \(shape) overflows") }
            elements = product
        }
        let (byteCount, overflow) = elements.multipliedReportingOverflow(by: 4)
        guard !overflow, byteCount == offsets.1 - offsets.0 else {
            throw .sizeMismatch(name: name, reason: "shape \(shape) needs \(overflow ? "more than Int.max" : String(byteCount)) "
                + "bytes but data_offsets span \(offsets.1 - offsets.0)")
        }
        return (name, shape, offsets.0, offsets.1)
    }
}
