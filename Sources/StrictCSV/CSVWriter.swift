import Foundation

/// Writes RFC 4180 CSV, or its dialect with another delimiter: fields containing the delimiter,
/// a quote, CR or LF are quoted, quotes doubled; lines end with LF.
public enum CSVWriter {
    public static func line(_ fields: [String], delimiter: UInt8 = UInt8(ascii: ",")) -> String {
        let separator = Character(Unicode.Scalar(delimiter))
        return fields.map { quoted($0, delimiter: separator) }.joined(separator: String(separator)) + "\n"
    }

    public static func quoted(_ field: String, delimiter: Character = ",") -> String {
        guard field.contains(where: { $0 == delimiter || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
