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

    /// Reads a cell with only the built-in missing markers, decimal points deciding.
    public init(_ raw: String) { self.init(raw, missing: []) }

    /// Reads a cell; `missing` are further texts (compared after trimming spaces) that mean no value.
    ///
    /// Numbers are decimals (`-12`, `3.5`, `.5`, `1e-3`, `1.225e+006`), optionally with thousands
    /// separators in their strict form and a currency sign before or after (`$350,000.50`,
    /// `1.234,50 €`): a number written with a decimal comma (`3,25`, `1.234,5`) reads as one too,
    /// and `decimalSeparator` (the file's, ``CSVDialect``) decides the cells that read both ways
    /// (`1,234`: 1234 with `.point`, 1.234 with `.comma`). Surrounding spaces are allowed. Hex
    /// floats and `1,22,500` are text.
    public init(_ raw: String, missing: Set<String>, decimalSeparator: DecimalSeparator = .point) {
        // Most cells of a real file are plain decimals (`-122.23`, `8.3252`): read those in one
        // pass over their bytes, not through the general path below, which hashes each text into
        // the marker sets and peels sign, currency and separators off as substrings (reading and
        // preparing the California split took 0.34 s that way, 0.20 s with this). It gives what the
        // general path gives for them; no built-in marker is a decimal, but a user's may be (`--missing -1`).
        // With decimal commas, `1.234` is a thousand and more: the general path decides.
        if CellValue.isDecimal(raw), missing.isEmpty || !missing.contains(raw),
           decimalSeparator == .point || !raw.utf8.contains(UInt8(ascii: ".")) {
            guard let value = Double(raw), value.isFinite else {
                self = .nonFinite
                return
            }
            self = .number(value)
            return
        }
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
        guard let plain = decimalSeparator.reading(text) else {
            self = .text(text)
            return
        }
        guard let value = Double(plain), value.isFinite else {
            self = .nonFinite
            return
        }
        self = .number(value)
    }

    /// sign? (digits (. digits?)? | . digits) ((e|E) sign? digits)?
    static func isDecimal(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var next = 0
            func take(_ accepted: (UInt8) -> Bool) -> Bool {
                guard next < bytes.count, accepted(bytes[next]) else { return false }
                next += 1
                return true
            }
            func digits() -> Int {
                let start = next
                while take({ $0 >= 0x30 && $0 <= 0x39 }) {}
                return next - start
            }
            let isSign = { (byte: UInt8) in byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") }
            _ = take(isSign)
            var mantissa = digits()
            if take({ $0 == UInt8(ascii: ".") }) { mantissa += digits() }
            guard mantissa > 0 else { return false }
            if take({ $0 | 0x20 == UInt8(ascii: "e") }) {
                _ = take(isSign)
                guard digits() > 0 else { return false }
            }
            return next == bytes.count
        }
    }
}

