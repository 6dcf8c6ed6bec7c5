import StrictCSV

/// How the text of a CSV cell reads as data.
public enum CellValue: Equatable {
    /// Empty, or a conventional missing marker.
    case missing
    case number(Double)
    /// Looks like a number but is too large for a Double (e.g. 1e400).
    case overflow
    case text(String)

    /// Texts that mean "no value". `NaN` counts: a numeric column may use it for gaps.
    public static let missingMarkers: Set<String> = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]

    /// Reads a cell. Numbers must be plain decimals (`-12`, `3.5`, `.5`, `1e-3`, surrounding
    /// spaces allowed): `inf`, hex floats and thousands separators are text, not numbers.
    public init(_ raw: String) {
        let text = raw.trimmingSpaces
        if CellValue.missingMarkers.contains(text) {
            self = .missing
            return
        }
        guard CellValue.isDecimal(text) else {
            self = .text(text)
            return
        }
        guard let value = Double(text), value.isFinite else {
            self = .overflow
            return
        }
        self = .number(value)
    }

    /// sign? (digits (. digits?)? | . digits) ((e|E) sign? digits)?
    static func isDecimal(_ text: String) -> Bool {
        var bytes = text.utf8[...]
        func digits() -> Int {
            var count = 0
            while let byte = bytes.first, byte >= 0x30 && byte <= 0x39 { bytes.removeFirst(); count += 1 }
            return count
        }
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { bytes.removeFirst() }
        var mantissa = digits()
        if bytes.first == UInt8(ascii: ".") {
            bytes.removeFirst()
            mantissa += digits()
        }
        guard mantissa > 0 else { return false }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes.removeFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { bytes.removeFirst() }
            guard digits() > 0 else { return false }
        }
        return bytes.isEmpty
    }
}
