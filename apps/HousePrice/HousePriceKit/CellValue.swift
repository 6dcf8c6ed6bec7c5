import StrictCSV

/// How the text of a CSV cell reads as data.
public enum CellValue: Equatable {
    /// Empty, or a missing marker (built in, or named by the user with `--missing`).
    case missing
    case number(Double)
    /// A number that is not finite: too large for a Double (`1e400`), or `inf`, `-Infinity`.
    case nonFinite
    case text(String)

    /// Texts that mean "no value" in every file. `NaN` counts: a numeric column may use it for gaps.
    public static let missingMarkers: Set<String> = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]

    /// Words for infinity, which are never a usable value.
    static let infinityWords: Set<String> = ["inf", "infinity"]

    /// Reads a cell with only the built-in missing markers.
    public init(_ raw: String) { self.init(raw, missing: []) }

    /// Reads a cell; `missing` are further texts (compared after trimming spaces) that mean no value.
    ///
    /// Numbers are plain decimals (`-12`, `3.5`, `.5`, `1e-3`, `1.225e+006`), optionally with
    /// thousands separators in their strict form (`1,234,567.5`) and a leading currency sign
    /// (`$`, `€`, `£`); surrounding spaces are allowed. Hex floats and `1.234,5` are text.
    public init(_ raw: String, missing: Set<String>) {
        let text = raw.trimmingSpaces
        if CellValue.missingMarkers.contains(text) || missing.contains(text) {
            self = .missing
            return
        }
        let unsigned = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        if let first = unsigned.utf8.first, first | 0x20 == UInt8(ascii: "i"), CellValue.infinityWords.contains(unsigned.lowercased()) {
            self = .nonFinite
            return
        }
        guard let plain = CellValue.plainDecimal(text) else {
            self = .text(text)
            return
        }
        guard let value = Double(plain), value.isFinite else {
            self = .nonFinite
            return
        }
        self = .number(value)
    }

    /// `text` as a plain decimal that `Double` reads (currency sign and thousands separators
    /// removed), or nil when it is not a number in an accepted form.
    static func plainDecimal(_ text: String) -> String? {
        var body = Substring(text)
        var sign = ""
        if let first = body.first, first == "-" || first == "+" {
            sign = String(first)
            body = body.dropFirst()
        }
        if let first = body.first, first == "$" || first == "€" || first == "£" { body = body.dropFirst() }
        if body.utf8.contains(UInt8(ascii: ",")) {
            // Strict grouping: 1-3 digits, then groups of exactly three, then an optional fraction.
            let point = body.firstIndex(of: ".") ?? body.endIndex
            let groups = body[..<point].split(separator: ",", omittingEmptySubsequences: false)
            guard (1...3).contains(groups[0].count), groups.dropFirst().allSatisfy({ $0.count == 3 }),
                  groups.allSatisfy({ $0.allSatisfy(\.isASCIIDigitCharacter) }) else { return nil }
            body = Substring(groups.joined() + body[point...])
        }
        let candidate = sign + body
        return isDecimal(candidate) ? candidate : nil
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

extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
