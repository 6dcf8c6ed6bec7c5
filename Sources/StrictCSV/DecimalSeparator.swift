/// The two ways CSV files write numbers: with a decimal point and commas between thousands
/// (`1,234,567.5`), or with a decimal comma and dots or spaces between thousands (`1.234.567,5`,
/// `1 234 567,5`), as spreadsheets in much of Europe and South America save them.
///
/// Many cells read the same either way (`42`, `-3`), many only one way (`3.25`, `1,234.5` only
/// with a point; `3,25`, `1.234,5` only with a comma), and a few both ways with different values
/// (`1,234` and `1.234`: a thousand or about one). ``reading(_:)`` takes a cell's only reading
/// when it has one, and this separator's when it has two; ``CSVDialect`` chooses the separator for
/// a file from the cells that have only one.
public enum DecimalSeparator: String, Sendable, Equatable, Codable, CaseIterable {
    /// `1,234,567.5`; also `1'234'567.5` (Swiss) and exponents (`1.225e+006`).
    case point
    /// `1.234.567,5`, `1 234 567,5` (a space, no-break space or narrow no-break space between
    /// thousands).
    case comma

    /// `text` as a plain decimal that `Double` reads (`-1234567.5`), when it is a number written
    /// this way; nil when it is not. Allowed around the digits: spaces and tabs, one sign, and a
    /// currency sign (`$`, `€`, `£`) after the sign or at the end (`1.234,50 €`). Thousands
    /// groups must be strict: 1–3 digits, then groups of exactly three, one kind of separator.
    public func plainDecimal(_ text: some StringProtocol) -> String? {
        var body = Substring(text)
        func trimSpaces() {
            while let first = body.first, first == " " || first == "\t" { body.removeFirst() }
            while let last = body.last, last == " " || last == "\t" { body.removeLast() }
        }
        trimSpaces()
        var sign = ""
        if let first = body.first, first == "-" || first == "+" {
            sign = String(first)
            body.removeFirst()
        }
        if let first = body.first, Self.currencySigns.contains(first) {
            body.removeFirst()
        } else if let last = body.last, Self.currencySigns.contains(last) {
            body.removeLast()
        }
        trimSpaces()
        // An exponent, with a decimal point only: `1e-3`, `1.225e+006`.
        var exponent: Substring = ""
        if self == .point, let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = body[e...]
            guard Self.isExponent(exponent) else { return nil }
            body = body[..<e]
        }
        let (decimalMark, groupMarks): (Character, Set<Character>) = self == .point
            ? (".", [",", "'"]) : (",", [".", " ", "\u{A0}", "\u{202F}"])
        let mark = body.firstIndex(of: decimalMark)
        let integer = body[..<(mark ?? body.endIndex)]
        let fraction = mark.map { body[body.index(after: $0)...] } ?? ""
        guard fraction.allSatisfy(\.isASCIIDigit) else { return nil }
        // `.5` and `1.` are numbers; `.` alone is not.
        if integer.isEmpty {
            return fraction.isEmpty ? nil : sign + "0." + fraction + exponent
        }
        guard let digits = Self.integerDigits(integer, groupMarks: groupMarks) else { return nil }
        return sign + digits + (mark == nil ? "" : "." + fraction) + exponent
    }

    /// `text`'s plain decimal: its only reading when one separator reads it, this separator's
    /// when both do; nil when neither does.
    public func reading(_ text: some StringProtocol) -> String? {
        // Most texts that are not numbers have no digit at all (`NEAR BAY`): no need to try both ways.
        guard text.utf8.contains(where: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        switch Self.readings(text) {
        case let (point?, comma?): return self == .point ? point : comma
        case let (point?, nil): return point
        case let (nil, comma?): return comma
        case (nil, nil): return nil
        }
    }

    /// `text`'s plain decimal with a point and with a comma (nil where it is no number that way).
    static func readings(_ text: some StringProtocol) -> (point: String?, comma: String?) {
        (DecimalSeparator.point.plainDecimal(text), DecimalSeparator.comma.plainDecimal(text))
    }

    static let currencySigns: Set<Character> = ["$", "€", "£"]

    /// The digits of an integer part: plain digits, or strict groups of three after 1–3 digits,
    /// all separated by the same one of `groupMarks`; nil otherwise.
    private static func integerDigits(_ integer: Substring, groupMarks: Set<Character>) -> String? {
        guard !integer.isEmpty else { return nil }
        if integer.allSatisfy(\.isASCIIDigit) { return String(integer) }
        guard let separator = integer.first(where: { !$0.isASCIIDigit }), groupMarks.contains(separator) else { return nil }
        let groups = integer.split(separator: separator, omittingEmptySubsequences: false)
        guard (1...3).contains(groups[0].count), groups.dropFirst().allSatisfy({ $0.count == 3 }),
              groups.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }) else { return nil }
        return groups.joined()
    }

    /// `e` or `E`, an optional sign, then at least one digit.
    private static func isExponent(_ text: Substring) -> Bool {
        var digits = text.dropFirst()
        if let sign = digits.first, sign == "+" || sign == "-" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit)
    }
}

extension Character {
    /// 0–9 only (`isNumber` also accepts other scripts' digits and fractions).
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
