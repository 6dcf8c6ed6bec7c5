#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a `CSVReader` gets its bytes.
public protocol CSVByteSource: AnyObject {
    /// Fills the start of `buffer` and returns how many bytes it wrote; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CSVError) -> Int
}

/// Bytes already in memory.
public final class CSVMemorySource: CSVByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(CSVError) -> Int {
        let count = min(buffer.count, bytes.count - offset)
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

/// A regular file, read in pieces: the reader's memory does not grow with the file.
public final class CSVFileSource: CSVByteSource {
    private let descriptor: Int32
    private let path: String

    /// Opens `path`, which must be a regular file (a FIFO, device or folder is an error, and the
    /// open never waits).
    public init(path: String) throws(CSVError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw CSVError(file: path, line: 0, message: String(cString: strerror(errno))) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            throw CSVError(file: path, line: 0, message: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw CSVError(file: path, line: 0, message: (status.st_mode & S_IFMT) == S_IFDIR
                           ? "is a folder, not a file" : "is not a regular file (a FIFO, socket or device)")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(CSVError) -> Int {
        while true {
            let count = systemRead(descriptor, buffer.baseAddress!, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw CSVError(file: path, line: 0, message: String(cString: strerror(errno)))
        }
    }
}

/// read(2), named apart from `CSVFileSource.read(into:)`.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

/// Reads CSV records one at a time, as people write them (RFC 4180 and the usual variations):
/// fields are separated by commas, or by semicolons, tabs or bars (``CSVDialect``, told from the
/// file's first records unless given); they may be quoted, with separators, line breaks and
/// doubled quotes ("") inside; the text is UTF-8, or Windows-1252 when the file's first 64 KB are
/// not UTF-8 (``CSVEncoding``); a UTF-8 byte-order mark, Excel's `sep=;` line before the header,
/// CRLF or LF line ends and a missing final newline are accepted; blank lines are skipped.
/// Malformed input is reported by line: an unterminated quote, text after a closing quote, a
/// record with another number of fields than the header, invalid UTF-8 in a UTF-8 file, a record
/// above `maximumRecordBytes`. Memory holds one buffer and one record, whatever the file's size.
public struct CSVReader {
    /// Column names from the header row, whitespace-trimmed, non-empty and unique.
    public private(set) var header: [String]
    /// The file name errors start with.
    public let name: String
    /// How the file separates fields and writes numbers.
    public private(set) var dialect: CSVDialect
    /// A record longer than this is an error rather than an unbounded allocation.
    public static let maximumRecordBytes = 1 << 26

    private let source: any CSVByteSource
    private var buffer: [UInt8]
    private var position = 0
    private var end = 0
    private var exhausted = false
    private var line = 1

    /// Bytes from the start of a file that its dialect is told from (or all of a shorter file).
    public static let dialectSampleBytes = 1 << 16

    /// Reads the header of `source`; `name` prefixes error messages (usually the file path). The
    /// dialect is told from the first `dialectSampleBytes` (``CSVDialect/detect(_:complete:delimiter:decimalSeparator:encoding:)``)
    /// but for a `delimiter`, `decimalSeparator` or `encoding` given.
    public init(name: String, source: some CSVByteSource, bufferSize: Int = 1 << 16,
                delimiter: UInt8? = nil, decimalSeparator: DecimalSeparator? = nil,
                encoding: CSVEncoding? = nil) throws(CSVError) {
        self.name = name
        self.source = source
        self.buffer = [UInt8](repeating: 0, count: max(16, bufferSize))
        self.header = []
        self.dialect = .standard
        // Skip a UTF-8 byte-order mark.
        if try fill(atLeast: 3), buffer[position] == 0xEF, buffer[position + 1] == 0xBB, buffer[position + 2] == 0xBF {
            position += 3
        }
        let complete = !(try fill(atLeast: Self.dialectSampleBytes))
        // Excel's `sep=;` line before the header names the delimiter.
        var named: UInt8?
        let hint = Array("sep=".utf8)
        if end - position >= hint.count + 1, Array(buffer[position..<(position + hint.count)]) == hint,
           CSVDialect.delimiters.contains(buffer[position + hint.count]) {
            let after = position + hint.count + 1
            let lineEnd = after < end && buffer[after] == UInt8(ascii: "\r") ? after + 1 : after
            if lineEnd == end || buffer[lineEnd] == UInt8(ascii: "\n") {
                named = buffer[position + hint.count]
                position = min(end, lineEnd + 1)
                line += 1
            }
        }
        dialect = CSVDialect.detect(buffer[position..<min(end, position + Self.dialectSampleBytes)],
                                    complete: complete && end - position <= Self.dialectSampleBytes,
                                    delimiter: delimiter ?? named, decimalSeparator: decimalSeparator, encoding: encoding)
        guard let first = try nextRecord() else { throw CSVError(file: name, line: line, message: "the file is empty") }
        let header = first.fields.map { $0.trimmingSpaces }
        if let empty = header.firstIndex(of: "") {
            throw CSVError(file: name, line: first.line, message: "column \(empty + 1) of the header has no name")
        }
        var seen: [String: Int] = [:]
        for (index, column) in header.enumerated() {
            if let earlier = seen[column] {
                throw CSVError(file: name, line: first.line,
                               message: "column name \"\(column)\" appears twice (columns \(earlier + 1) and \(index + 1))")
            }
            seen[column] = index
        }
        self.header = header
    }

    /// The next record with the header's number of fields, and the physical line it starts on;
    /// nil at the end of the file.
    public mutating func next() throws(CSVError) -> (fields: [String], line: Int)? {
        while let record = try nextRecord() {
            // A blank line (one empty field) is skipped, as spreadsheets write them at the end.
            if record.fields.count == 1 && record.fields[0].isEmpty && header.count > 1 { continue }
            guard record.fields.count == header.count else {
                let separated = dialect.delimiter == UInt8(ascii: ",") ? "" : " (fields separated by \(dialect.delimiterName))"
                throw CSVError(file: name, line: record.line,
                               message: "\(record.fields.count) fields, but the header has \(header.count)\(separated)")
            }
            return record
        }
        return nil
    }

    /// Up to `maximumRows` next records as a table with this file's header; nil at the end.
    public mutating func nextTable(maximumRows: Int) throws(CSVError) -> CSVTable? {
        var rows: [[String]] = [], lines: [Int] = []
        while rows.count < maximumRows, let record = try next() {
            rows.append(record.fields)
            lines.append(record.line)
        }
        return rows.isEmpty ? nil : CSVTable(header: header, rows: rows, lines: lines, dialect: dialect)
    }

    // MARK: - Bytes

    /// Makes at least `count` unread bytes available if the source has them; false if it ends first.
    private mutating func fill(atLeast count: Int) throws(CSVError) -> Bool {
        while end - position < count && !exhausted {
            if position > 0 {
                // Move the unread bytes to the front.
                let unread = end - position
                buffer.withUnsafeMutableBytes { bytes in
                    bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + position, byteCount: unread)
                }
                (position, end) = (0, unread)
            }
            if end == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let (source, start) = (self.source, end)
            let outcome = buffer.withUnsafeMutableBytes { bytes in
                Result { () throws(CSVError) in try source.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[start...])) }
            }
            let read = try outcome.get()
            if read == 0 { exhausted = true }
            end += read
        }
        return end - position >= count
    }

    /// The next byte without consuming it; nil at the end of the input.
    private mutating func peek() throws(CSVError) -> UInt8? {
        if position == end, !(try fill(atLeast: 1)) { return nil }
        return buffer[position]
    }

    // MARK: - Records

    /// The next physical record (fields split and unquoted, not yet checked against the header).
    private mutating func nextRecord() throws(CSVError) -> (fields: [String], line: Int)? {
        guard try peek() != nil else { return nil }
        let recordLine = line
        let delimiter = dialect.delimiter
        var fields: [String] = []
        var field: [UInt8] = []
        var recordBytes = 0
        var atFieldStart = true

        func finishField() throws(CSVError) {
            guard let text = dialect.encoding.decode(field) else {
                throw CSVError(file: name, line: line, message: "field \(fields.count + 1) is not valid UTF-8")
            }
            fields.append(text)
            field.removeAll(keepingCapacity: true)
        }
        func append(_ byte: UInt8) throws(CSVError) {
            recordBytes += 1
            guard recordBytes <= Self.maximumRecordBytes else {
                throw CSVError(file: name, line: recordLine, message: "a record longer than \(Self.maximumRecordBytes) bytes")
            }
            field.append(byte)
        }

        while let byte = try peek() {
            if atFieldStart && byte == UInt8(ascii: "\"") {
                // Quoted field: runs to the next quote not followed by another quote.
                let quoteLine = line
                position += 1
                var closed = false
                while let inner = try peek() {
                    position += 1
                    if inner == UInt8(ascii: "\"") {
                        if try peek() == UInt8(ascii: "\"") {
                            try append(inner)
                            position += 1
                            continue
                        }
                        closed = true
                        break
                    }
                    if inner == UInt8(ascii: "\n") { line += 1 }
                    try append(inner)
                }
                guard closed else {
                    throw CSVError(file: name, line: quoteLine, message: "field \(fields.count + 1) opens a quote that never closes")
                }
                // After the closing quote: a separator, a line end, or the end of the file.
                if let next = try peek(), next != delimiter, next != UInt8(ascii: "\n"), next != UInt8(ascii: "\r") {
                    throw CSVError(file: name, line: line, message: "field \(fields.count + 1) has text after its closing quote")
                }
                atFieldStart = false
                continue
            }
            switch byte {
            case delimiter:
                try finishField()
                atFieldStart = true
                position += 1
            case UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                try finishField()
                position += 1
                if byte == UInt8(ascii: "\r"), try peek() == UInt8(ascii: "\n") { position += 1 }
                line += 1
                return (fields, recordLine)
            default:
                try append(byte)
                atFieldStart = false
                position += 1
            }
        }
        // No final newline: the last record ends at the end of the file.
        try finishField()
        return (fields, recordLine)
    }
}
