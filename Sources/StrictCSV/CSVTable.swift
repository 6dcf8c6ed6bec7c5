/// A CSV file as people write it (RFC 4180 and the usual variations): a header row, then
/// records of the same length. Fields may be quoted, with commas, line breaks and doubled quotes
/// ("") inside; a UTF-8 byte-order mark, CRLF or LF line ends and a missing final newline are all
/// accepted. Malformed input is reported by line: an unterminated quote, text after a closing
/// quote, a record with the wrong number of fields, invalid UTF-8.
public struct CSVTable: Sendable {
    /// Column names from the header row, whitespace-trimmed.
    public let header: [String]
    /// The records, each with `header.count` fields (raw text, quotes removed).
    public let rows: [[String]]
    /// The physical line on which each record starts (1-based; the header is line 1).
    public let lines: [Int]

    public init(header: [String], rows: [[String]], lines: [Int]) {
        self.header = header
        self.rows = rows
        self.lines = lines
    }

    /// Parses CSV text from bytes. `name` prefixes error messages (usually the file path).
    public static func parse(_ bytes: [UInt8], name: String) throws(CSVError) -> CSVTable {
        var parser = CSVParser(bytes: bytes, name: name)
        let records = try parser.records()
        guard let first = records.first else { throw CSVError(file: name, line: 1, message: "the file is empty") }
        let header = first.fields.map { $0.trimmingSpaces }
        if let empty = header.firstIndex(of: "") {
            throw CSVError(file: name, line: 1, message: "column \(empty + 1) of the header has no name")
        }
        var seen: [String: Int] = [:]
        for (index, column) in header.enumerated() {
            if let earlier = seen[column] {
                throw CSVError(file: name, line: 1,
                               message: "column name \"\(column)\" appears twice (columns \(earlier + 1) and \(index + 1))")
            }
            seen[column] = index
        }
        var rows: [[String]] = []
        var lines: [Int] = []
        rows.reserveCapacity(records.count - 1)
        for record in records.dropFirst() {
            // A blank line (one empty field) is skipped, as spreadsheets write them at the end.
            if record.fields.count == 1 && record.fields[0].isEmpty && header.count > 1 { continue }
            guard record.fields.count == header.count else {
                throw CSVError(file: name, line: record.line,
                               message: "\(record.fields.count) fields, but the header has \(header.count)")
            }
            rows.append(record.fields)
            lines.append(record.line)
        }
        return CSVTable(header: header, rows: rows, lines: lines)
    }

    /// The index of the column named `name`, if any.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }
}

/// A byte-level RFC 4180 state machine; fields are decoded as UTF-8 once complete.
struct CSVParser {
    let bytes: [UInt8]
    let name: String

    struct Record {
        let fields: [String]
        let line: Int
    }

    mutating func records() throws(CSVError) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var recordLine = 1
        var index = 0
        let count = bytes.count
        // Skip a UTF-8 byte-order mark.
        if count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { index = 3 }

        func finishField() throws(CSVError) {
            guard let text = String(validating: field, as: UTF8.self) else {
                throw CSVError(file: name, line: line, message: "field \(fields.count + 1) is not valid UTF-8")
            }
            fields.append(text)
            field.removeAll(keepingCapacity: true)
        }
        func finishRecord() throws(CSVError) {
            try finishField()
            records.append(Record(fields: fields, line: recordLine))
            fields = []
        }

        var atFieldStart = true
        while index < count {
            let byte = bytes[index]
            if atFieldStart && byte == UInt8(ascii: "\"") {
                // Quoted field: runs to the next quote not followed by another quote.
                let quoteLine = line
                index += 1
                var closed = false
                while index < count {
                    let inner = bytes[index]
                    if inner == UInt8(ascii: "\"") {
                        if index + 1 < count && bytes[index + 1] == UInt8(ascii: "\"") {
                            field.append(inner)
                            index += 2
                            continue
                        }
                        closed = true
                        index += 1
                        break
                    }
                    if inner == UInt8(ascii: "\n") { line += 1 }
                    field.append(inner)
                    index += 1
                }
                guard closed else {
                    throw CSVError(file: name, line: quoteLine, message: "field \(fields.count + 1) opens a quote that never closes")
                }
                // After the closing quote: a separator, a line end, or the end of the file.
                if index < count && ![UInt8(ascii: ","), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[index]) {
                    throw CSVError(file: name, line: line,
                                   message: "field \(fields.count + 1) has text after its closing quote")
                }
                atFieldStart = false
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                try finishField()
                atFieldStart = true
                index += 1
            case UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                try finishRecord()
                if byte == UInt8(ascii: "\r") && index + 1 < count && bytes[index + 1] == UInt8(ascii: "\n") { index += 1 }
                index += 1
                line += 1
                recordLine = line
                atFieldStart = true
            default:
                field.append(byte)
                atFieldStart = false
                index += 1
            }
        }
        // No final newline: the last record ends at the end of the file.
        if !field.isEmpty || !fields.isEmpty || !atFieldStart { try finishRecord() }
        return records
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    public var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
