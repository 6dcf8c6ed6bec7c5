import Foundation

/// Writes RFC 4180 CSV: fields containing a comma, quote, CR or LF are quoted, quotes doubled;
/// lines end with LF.
public enum CSVWriter {
    public static func line(_ fields: [String]) -> String {
        fields.map(quoted).joined(separator: ",") + "\n"
    }

    public static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
