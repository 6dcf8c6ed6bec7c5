/// Dates as they appear in house-sale files, read into a day number.
///
/// Recognised forms (an optional time `HH:MM[:SS[.fff]]` may follow a date after `T` or a space,
/// and is read into the fraction of the day):
/// - ISO `2014-10-13` (also `2014/10/13`, `2014.10.13`), and ISO basic `20141013T000000`;
/// - numeric day and month in either order, `13/10/2014` or `10/13/2014` (also with `-` or `.`),
///   told apart by `DateOrder`;
/// - month names in English, full or three letters: `13 Oct 2014`, `13-Oct-2014`,
///   `Oct 13, 2014`, `October 13 2014`.
///
/// `20141013` alone is read as YYYYMMDD too, but a cell that reads as a number is a number, so a
/// column of them is a date only when the user says so with `--date`.
public enum DateOrder: String, Codable, Sendable, CaseIterable {
    /// Year, month, day: ISO forms (and month names, whose order is unambiguous).
    case ymd
    /// Day first: 13/10/2014.
    case dmy
    /// Month first: 10/13/2014.
    case mdy
}

public enum DateReading {
    /// A date's parts as written, before the order of day and month is known.
    struct Parts: Equatable {
        /// For numeric day/month forms, the two numbers in the order written; otherwise
        /// `first` = month and `second` = day, and `fixed` is true.
        var year: Int, first: Int, second: Int
        var fixed: Bool
        var secondsOfDay: Double
    }

    /// Days since 1970-01-01 (UTC calendar, proleptic Gregorian), with the time of day as the
    /// fraction; nil when `text` is not a date in a recognised form or not a real calendar day.
    public static func dayNumber(_ text: String, order: DateOrder) -> Double? {
        guard let parts = parts(text) else { return nil }
        let (month, day): (Int, Int)
        if parts.fixed {
            (month, day) = (parts.first, parts.second)
        } else {
            switch order {
            case .ymd, .mdy: (month, day) = (parts.first, parts.second)
            case .dmy: (month, day) = (parts.second, parts.first)
            }
        }
        guard let days = daysFromCivil(year: parts.year, month: month, day: day) else { return nil }
        return Double(days) + parts.secondsOfDay / 86_400
    }

    /// The month (1-12) of a date, for the seasonal features.
    public static func month(ofDayNumber dayNumber: Double) -> Int {
        civilFromDays(Int((dayNumber).rounded(.down))).month
    }

    /// Whether `text` has the shape of a date in one of the recognised forms (any order).
    public static func looksLikeDate(_ text: String) -> Bool {
        guard let parts = parts(text) else { return false }
        if parts.fixed { return daysFromCivil(year: parts.year, month: parts.first, day: parts.second) != nil }
        return daysFromCivil(year: parts.year, month: parts.first, day: parts.second) != nil
            || daysFromCivil(year: parts.year, month: parts.second, day: parts.first) != nil
    }

    /// The day/month order that reads every one of `texts` (all of which look like dates), or
    /// why none can be chosen: `.ambiguous` when both orders read them all (no day above 12),
    /// `.contradictory` when neither does (some written day first, others month first).
    public enum OrderChoice: Equatable {
        case order(DateOrder)
        case ambiguous
        case contradictory(example: String)
    }

    public static func chooseOrder(_ texts: some Sequence<String>) -> OrderChoice {
        var dayFirstPossible = true, monthFirstPossible = true
        var numericForms = 0
        var example = ""
        for text in texts {
            guard let parts = parts(text) else { continue }
            if parts.fixed { continue }
            numericForms += 1
            if daysFromCivil(year: parts.year, month: parts.first, day: parts.second) == nil {
                monthFirstPossible = false
                if example.isEmpty { example = text }
            }
            if daysFromCivil(year: parts.year, month: parts.second, day: parts.first) == nil {
                dayFirstPossible = false
                if example.isEmpty { example = text }
            }
        }
        switch (numericForms, dayFirstPossible, monthFirstPossible) {
        case (0, _, _): return .order(.ymd)
        case (_, true, true): return .ambiguous
        case (_, true, false): return .order(.dmy)
        case (_, false, true): return .order(.mdy)
        case (_, false, false): return .contradictory(example: example)
        }
    }

    // MARK: - Parsing

    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Splits `text` into a date and an optional time of day, and reads both.
    static func parts(_ raw: String) -> Parts? {
        let text = Array(raw.utf8)
        guard text.count >= 6, text.count <= 40 else { return nil }
        // ISO basic: 8 digits, then T and 6 digits (seconds optional fractions).
        if text.count >= 15, text[8] == UInt8(ascii: "T"), text[0..<8].allSatisfy(isDigit) {
            guard let year = number(text[0..<4]), let month = number(text[4..<6]), let day = number(text[6..<8]),
                  let seconds = basicTime(text[9...]) else { return nil }
            return Parts(year: year, first: month, second: day, fixed: true, secondsOfDay: seconds)
        }
        // YYYYMMDD alone: only reached for columns the user declared dates (it reads as a number).
        if text.count == 8, text.allSatisfy(isDigit) {
            guard let year = number(text[0..<4]), let month = number(text[4..<6]), let day = number(text[6..<8]) else { return nil }
            return Parts(year: year, first: month, second: day, fixed: true, secondsOfDay: 0)
        }
        // Date and time separated by T or a space (a space may also separate month-name tokens, so
        // a time is only split off when what follows looks like one).
        var datePart = text[...], seconds = 0.0
        if let split = text.lastIndex(where: { $0 == UInt8(ascii: "T") || $0 == UInt8(ascii: " ") }),
           text[(split + 1)...].contains(UInt8(ascii: ":")) {
            guard let time = clockTime(text[(split + 1)...]) else { return nil }
            seconds = time
            datePart = text[..<split]
        }
        return calendarDate(datePart).map { Parts(year: $0.year, first: $0.first, second: $0.second, fixed: $0.fixed, secondsOfDay: seconds) }
    }

    private static func calendarDate(_ text: ArraySlice<UInt8>) -> (year: Int, first: Int, second: Int, fixed: Bool)? {
        // Tokens: runs of digits or letters; separators - / . , space.
        var tokens: [ArraySlice<UInt8>] = []
        var separators = Set<UInt8>()
        var start: Int? = nil
        for index in text.indices {
            let byte = text[index]
            if isDigit(byte) || isLetter(byte) {
                if let s = start, isDigit(text[s]) != isDigit(byte) { return nil }   // "13th", "2014a"
                if start == nil { start = index }
            } else if [UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: " ")].contains(byte) {
                if let s = start { tokens.append(text[s..<index]); start = nil }
                if byte != UInt8(ascii: " ") && byte != UInt8(ascii: ",") { separators.insert(byte) }
            } else {
                return nil
            }
        }
        if let s = start { tokens.append(text[s..<text.endIndex]) }
        guard tokens.count == 3, separators.count <= 1 else { return nil }
        let numbers = tokens.map { isDigit($0.first!) ? number($0) : nil }
        let monthFromName = tokens.firstIndex { isLetter($0.first!) }.flatMap { index -> (Int, Int)? in
            let name = String(decoding: tokens[index].map { $0 | 0x20 }, as: UTF8.self)
            guard name.count >= 3, let month = monthNames.firstIndex(where: { name.hasPrefix($0) }),
                  name.count == 3 || fullMonthNames[month].hasPrefix(name) else { return nil }
            return (index, month + 1)
        }
        if let (nameIndex, month) = monthFromName {
            // 13 Oct 2014 or Oct 13 2014: the year is the 4-digit number, the day the other.
            let others = (0..<3).filter { $0 != nameIndex }
            guard let a = numbers[others[0]], let b = numbers[others[1]] else { return nil }
            if tokens[others[1]].count == 4 && nameIndex != 2 { return (b, month, a, true) }
            return nil
        }
        // Numbers alone need one separator between them: "13 10 2014" is not a date.
        guard separators.count == 1, let a = numbers[0], let b = numbers[1], let c = numbers[2] else { return nil }
        if tokens[0].count == 4 && tokens[1].count <= 2 && tokens[2].count <= 2 { return (a, b, c, true) }   // ISO order
        if tokens[2].count == 4 && tokens[0].count <= 2 && tokens[1].count <= 2 { return (c, a, b, false) }  // d/m/y or m/d/y
        return nil
    }

    private static let fullMonthNames = ["january", "february", "march", "april", "may", "june", "july", "august",
                                         "september", "october", "november", "december"]

    /// HH:MM[:SS[.fff]], optionally followed by Z.
    private static func clockTime(_ text: ArraySlice<UInt8>) -> Double? {
        var body = text
        if body.last == UInt8(ascii: "Z") { body = body.dropLast() }
        let fields = body.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3, fields[0].count == 2, fields[1].count == 2,
              let hours = number(fields[0]), let minutes = number(fields[1]), hours < 24, minutes < 60 else { return nil }
        var seconds = 0.0
        if fields.count == 3 {
            let parts = fields[2].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            guard parts.count <= 2, parts[0].count == 2, let whole = number(parts[0]), whole < 61 else { return nil }
            seconds = Double(whole)
            if parts.count == 2 {
                guard !parts[1].isEmpty, parts[1].count <= 9, let fraction = number(parts[1]) else { return nil }
                seconds += Double(fraction) / pow10(parts[1].count)
            }
        }
        return Double(hours * 3600 + minutes * 60) + seconds
    }

    /// ISO basic time: HHMMSS, optionally with a fraction.
    private static func basicTime(_ text: ArraySlice<UInt8>) -> Double? {
        guard text.count >= 6, let hours = number(text.prefix(2)), let minutes = number(text.dropFirst(2).prefix(2)),
              let seconds = number(text.dropFirst(4).prefix(2)), hours < 24, minutes < 60, seconds < 61 else { return nil }
        let rest = text.dropFirst(6)
        guard rest.isEmpty || (rest.first == UInt8(ascii: ".") && rest.count > 1 && rest.count <= 10
                               && rest.dropFirst().allSatisfy(isDigit)) else { return nil }
        return Double(hours * 3600 + minutes * 60 + seconds)
    }

    private static func pow10(_ n: Int) -> Double { (0..<n).reduce(1) { value, _ in value * 10 } }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }

    /// Digits only, at most 9 of them.
    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var value = 0
        for byte in digits {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    // MARK: - Calendar (Howard Hinnant's days-from-civil algorithm)

    /// Days from 1970-01-01 to the given proleptic Gregorian date; nil when it is not a real day
    /// or the year is outside 1000...9999.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int? {
        guard (1000...9999).contains(year), (1...12).contains(month), day >= 1 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month - 1] else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `daysFromCivil`.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
