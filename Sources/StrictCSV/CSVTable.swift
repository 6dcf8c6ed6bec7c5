/// A CSV file in memory: a header row, then records of the same length (read by `CSVReader`).
public struct CSVTable: Sendable {
    /// Column names from the header row, whitespace-trimmed.
    public let header: [String]
    /// The records, each with `header.count` fields (raw text, quotes removed).
    public let rows: [[String]]
    /// The physical line on which each record starts (1-based; the header is line 1).
    public let lines: [Int]
    /// How the file separated its fields and wrote its numbers.
    public let dialect: CSVDialect

    public init(header: [String], rows: [[String]], lines: [Int], dialect: CSVDialect = .standard) {
        self.header = header
        self.rows = rows
        self.lines = lines
        self.dialect = dialect
    }

    /// Parses CSV text from bytes (see `CSVReader` for what is accepted, and for the dialect).
    /// `name` prefixes error messages (usually the file path).
    public static func parse(_ bytes: [UInt8], name: String, delimiter: UInt8? = nil,
                             decimalSeparator: DecimalSeparator? = nil) throws(CSVError) -> CSVTable {
        var reader = try CSVReader(name: name, source: CSVMemorySource(bytes), bufferSize: max(16, bytes.count),
                                   delimiter: delimiter, decimalSeparator: decimalSeparator)
        return try reader.nextTable(maximumRows: .max) ?? CSVTable(header: reader.header, rows: [], lines: [], dialect: reader.dialect)
    }

    /// The index of the column named `name`, if any.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }
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
