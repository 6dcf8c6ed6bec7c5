/// How a CSV file's bytes are text: UTF-8, or Windows-1252, the code page that spreadsheets in
/// Western Europe and the Americas still save "CSV" in (`€` is 0x80, `ü` 0xFC), which is never
/// valid UTF-8 once such a character appears.
public enum CSVEncoding: String, Sendable, Equatable {
    case utf8
    case windows1252

    /// The encoding an HTTP `charset` parameter names (case-insensitive): `utf-8`, or
    /// `windows-1252` and the labels browsers read as it (`iso-8859-1`, `latin1`, `us-ascii`, as
    /// the WHATWG Encoding Standard maps them); nil for any other.
    public init?(charset: String) {
        switch charset.lowercased() {
        case "utf-8", "utf8", "unicode-1-1-utf-8": self = .utf8
        case "windows-1252", "cp1252", "x-cp1252", "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1",
             "us-ascii", "ascii", "ansi_x3.4-1968":
            self = .windows1252
        default: return nil
        }
    }

    /// UTF-8 when `sample` (a file's first bytes, after any byte-order mark; `complete` when it is
    /// the whole file) is valid UTF-8, a character cut by the sample's end included; Windows-1252
    /// otherwise. A file whose invalid UTF-8 starts later is read as UTF-8, and that field is an error.
    public static func detect(_ sample: some Collection<UInt8>, complete: Bool) -> CSVEncoding {
        var bytes = Array(sample)
        // A lead byte followed by fewer continuation bytes than it announces: cut by the sample.
        if !complete, let lead = bytes.suffix(3).lastIndex(where: { $0 >= 0xC0 }), (0xC2...0xF4).contains(bytes[lead]),
           bytes[(lead + 1)...].allSatisfy({ (0x80...0xBF).contains($0) }) {
            let length = bytes[lead] >= 0xF0 ? 4 : bytes[lead] >= 0xE0 ? 3 : 2
            if bytes.count - lead < length { bytes.removeSubrange(lead...) }
        }
        return String(validating: bytes, as: UTF8.self) != nil ? .utf8 : .windows1252
    }

    /// `bytes` as text; nil when they are not valid UTF-8 (Windows-1252 reads every byte).
    public func decode(_ bytes: some Collection<UInt8>) -> String? {
        switch self {
        case .utf8:
            return String(validating: bytes, as: UTF8.self)
        case .windows1252:
            var scalars = String.UnicodeScalarView()
            for byte in bytes {
                // 0x80–0x9F hold the typographic characters; the five bytes the code page leaves
                // undefined keep their Latin-1 meaning (C1 controls), as Windows itself decodes them.
                let value = byte >= 0x80 && byte < 0xA0 ? Self.windows1252High[Int(byte - 0x80)] : UInt32(byte)
                scalars.append(Unicode.Scalar(value)!)
            }
            return String(scalars)
        }
    }

    /// `text` as bytes of this encoding: what `decode` reads back as `text`. In Windows-1252, a
    /// character the code page lacks becomes `?` (text decoded from such a file has none).
    public func encode(_ text: String) -> [UInt8] {
        switch self {
        case .utf8:
            return Array(text.utf8)
        case .windows1252:
            return text.unicodeScalars.map { scalar in
                let value = scalar.value
                if value < 0x80 || (0xA0...0xFF).contains(value) { return UInt8(value) }
                if let index = Self.windows1252High.firstIndex(of: value) { return UInt8(0x80 + index) }
                return UInt8(ascii: "?")
            }
        }
    }

    /// Windows-1252's 0x80–0x9F.
    private static let windows1252High: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]
}
