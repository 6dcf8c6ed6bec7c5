/// How a CSV file separates its fields and writes its numbers, told from its first records:
/// spreadsheets save "CSV" with commas and decimal points in some countries, and with semicolons
/// and decimal commas (`1.234,5`) in much of Europe; tab- and bar-separated files are common too.
public struct CSVDialect: Sendable, Equatable {
    /// The byte between fields: `,`, `;`, tab or `|`.
    public let delimiter: UInt8
    /// How the cells write decimals (it decides only the cells that read both ways, see
    /// ``DecimalSeparator``).
    public let decimalSeparator: DecimalSeparator
    /// How the bytes are text.
    public let encoding: CSVEncoding

    public init(delimiter: UInt8, decimalSeparator: DecimalSeparator, encoding: CSVEncoding = .utf8) {
        precondition(Self.delimiters.contains(delimiter), "CSVDialect: the delimiter must be one of , ; tab |")
        (self.delimiter, self.decimalSeparator, self.encoding) = (delimiter, decimalSeparator, encoding)
    }

    /// Commas and decimal points (RFC 4180's files).
    public static let standard = CSVDialect(delimiter: UInt8(ascii: ","), decimalSeparator: .point)

    /// The delimiter a command-line option or request parameter names: `comma`, `semicolon`,
    /// `tab` or `bar`; nil for any other name.
    public static func delimiter(named name: String) -> UInt8? {
        switch name {
        case "comma": UInt8(ascii: ",")
        case "semicolon": UInt8(ascii: ";")
        case "tab": UInt8(ascii: "\t")
        case "bar": UInt8(ascii: "|")
        default: nil
        }
    }

    /// The delimiters told apart, in order of preference when the evidence ties.
    static let delimiters: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|")]

    /// Records of a sample looked at.
    static let sampleRecords = 1_000

    /// The dialect in words, for a message: `fields separated by ';', decimal commas, Windows-1252 text`.
    public var summary: String {
        "fields separated by \(delimiterName), decimal \(decimalSeparator == .comma ? "commas" : "points"), "
            + (encoding == .windows1252 ? "Windows-1252" : "UTF-8") + " text"
    }

    /// The delimiter as people name it in a message: `';'`, `tab`.
    public var delimiterName: String { delimiter == UInt8(ascii: "\t") ? "tab" : "'\(Character(Unicode.Scalar(delimiter)))'" }

    /// The dialect of a file that starts with `sample` (after any byte-order mark); `complete`
    /// when the sample is the whole file (its last record then counts even without a line end).
    /// The encoding is ``CSVEncoding/detect(_:complete:)``'s.
    /// A `delimiter`, `decimalSeparator` or `encoding` given is taken as it is (the user's
    /// choice), and the other parts are told from the sample with it.
    ///
    /// The delimiter is the candidate that splits the header into two or more fields and every
    /// sampled record into as many, the one with the most fields if several do; when none is
    /// consistent, the one that splits the header most (the reader then reports the record that
    /// disagrees); a single column is comma-separated. The decimal separator is the one that more
    /// of the sample's data cells can be read with only; on a tie (often: no such cells), a comma
    /// in semicolon-separated files, as the spreadsheets that write them do, and a point otherwise.
    public static func detect(_ sample: some Collection<UInt8>, complete: Bool, delimiter: UInt8? = nil,
                              decimalSeparator: DecimalSeparator? = nil, encoding: CSVEncoding? = nil) -> CSVDialect {
        let bytes = Array(sample)
        let encoding = encoding ?? CSVEncoding.detect(bytes, complete: complete)
        if let delimiter, let decimalSeparator {
            return CSVDialect(delimiter: delimiter, decimalSeparator: decimalSeparator, encoding: encoding)
        }
        var best: (delimiter: UInt8, fields: Int, consistent: Bool) = (delimiter ?? UInt8(ascii: ","), 1, false)
        var chosenRecords = delimiter.map { Self.records(bytes, delimiter: $0, encoding: encoding, complete: complete) } ?? []
        for candidate in delimiter == nil ? delimiters : [] {
            let records = Self.records(bytes, delimiter: candidate, encoding: encoding, complete: complete)
            guard let header = records.first, header.count > 1 else { continue }
            let consistent = records.allSatisfy { $0.count == header.count }
            if (consistent && !best.consistent) || (consistent == best.consistent && header.count > best.fields) {
                best = (candidate, header.count, consistent)
                chosenRecords = records
            }
        }
        var pointOnly = 0, commaOnly = 0
        for record in chosenRecords.dropFirst() {
            for field in record {
                switch DecimalSeparator.readings(field) {
                case (_?, nil): pointOnly += 1
                case (nil, _?): commaOnly += 1
                default: break
                }
            }
        }
        let comma = commaOnly > pointOnly || (commaOnly == pointOnly && best.delimiter == UInt8(ascii: ";"))
        return CSVDialect(delimiter: best.delimiter, decimalSeparator: decimalSeparator ?? (comma ? .comma : .point),
                          encoding: encoding)
    }

    /// Up to `sampleRecords` records of `bytes` split at `delimiter` (quotes as `CSVReader` reads
    /// them, leniently: the sample only has to count fields). Blank lines are skipped; a last
    /// record without a line end counts only when `complete`.
    static func records(_ bytes: [UInt8], delimiter: UInt8, encoding: CSVEncoding, complete: Bool) -> [[String]] {
        var records: [[String]] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var (inQuotes, atFieldStart) = (false, true)
        var index = 0
        func finishField() {
            // A field cut by the sample's end may not decode: it only has to count.
            fields.append(encoding.decode(field) ?? String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            atFieldStart = true
        }
        func finishRecord() {
            finishField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(fields) }
            fields.removeAll(keepingCapacity: true)
        }
        while index < bytes.count && records.count < sampleRecords {
            let byte = bytes[index]
            index += 1
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == UInt8(ascii: "\"") && atFieldStart {
                inQuotes = true
                atFieldStart = false
            } else if byte == delimiter {
                finishField()
            } else if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if byte == UInt8(ascii: "\r") && index < bytes.count && bytes[index] == UInt8(ascii: "\n") { index += 1 }
                finishRecord()
            } else {
                field.append(byte)
                atFieldStart = false
            }
        }
        if complete && index == bytes.count && (!fields.isEmpty || !field.isEmpty) { finishRecord() }
        return records
    }
}
