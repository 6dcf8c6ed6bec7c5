import StrictCSV

/// Decides what each column of a training file is, from all of its rows: numeric, categorical,
/// a date, or an error that says how to go on. A column's type never flips silently:
///
/// - every non-missing value a finite number: numeric;
/// - every one a date in one of `DateReading`'s forms: a date (day and month told apart by the
///   values, or by `--date-format` when they cannot be);
/// - at least half numbers (or half dates) but not all: an error naming the first lines and values
///   that are not, and the flags that unblock it (`--categorical`, `--drop`, `--missing`);
/// - `inf`, `-inf` or a number beyond a Double (`1e400`) in a mostly numeric column: an error;
/// - otherwise categorical.
///
/// `--numeric`, `--categorical` and `--date` override the inference for the columns they name.
/// Warnings point at likely identifiers (every value distinct), integer codes used as amounts,
/// and zeros that stand for "never" among years.
public enum ColumnTyping {
    public enum Kind: Equatable, Sendable {
        case numeric, categorical
        case date(DateOrder)
    }

    /// What the user said about the columns.
    public struct Options: Codable, Equatable, Sendable {
        public var drop: [String] = []
        public var numeric: [String] = []
        public var categorical: [String] = []
        public var date: [String] = []
        /// Day/month order for every date column (`--date-format`); nil: decided from the values.
        public var dateOrder: DateOrder?
        /// Texts that mean "no value" in every column (`--missing`).
        public var missing: [String] = []
        /// Texts that mean "no value" in one column (`--missing-in COLUMN=TEXT`).
        public var columnMissing: [String: [String]] = [:]

        public init() {}

        /// Every text that means "no value" in `column`, besides the built-in markers.
        public func missingMarkers(for column: String) -> Set<String> {
            Set(missing).union(columnMissing[column] ?? [])
        }
    }

    public struct Column: Equatable, Sendable {
        public let name: String
        public let kind: Kind
    }

    /// Share of a column's values that makes it "mostly" numbers or dates.
    static let mostly = 0.5
    /// Columns with fewer values are too short to call an identifier.
    static let identifierMinimum = 20
    /// Share of distinct values from which a column of whole numbers or texts looks like an identifier.
    static let identifierShare = 0.95
    /// How many offending values an error quotes.
    static let quoted = 3

    /// The input columns of `table` (all but the target and dropped ones) with their kinds, and
    /// warnings worth showing before training.
    public static func infer(_ table: CSVTable, name: String, target: String,
                             options: Options) throws(HousePriceError) -> (columns: [Column], warnings: [String]) {
        var named: [String: String] = [:]   // column → the option that named it
        for (option, columns) in [("--drop", options.drop), ("--numeric", options.numeric),
                                  ("--categorical", options.categorical), ("--date", options.date),
                                  ("--missing-in", Array(options.columnMissing.keys.sorted()))] {
            for column in columns {
                guard table.column(column) != nil else {
                    throw .missingColumn(file: name, column: column,
                                         reason: "\(option) names column \"\(column)\", which the file does not have "
                                             + "(columns: \(table.header.joined(separator: ", ")))")
                }
                guard column != target else {
                    throw .columnType(file: name, column: column, reason: "is the target; \(option) applies to input columns only")
                }
                if option != "--missing-in", let earlier = named[column] {
                    throw .columnType(file: name, column: column, reason: "is named by both \(earlier) and \(option); choose one")
                }
                if option != "--missing-in" { named[column] = option }
            }
        }
        var columns: [Column] = []
        var warnings: [String] = []
        for (index, column) in table.header.enumerated() where column != target && !options.drop.contains(column) {
            let profile = Profile(table, index: index, missing: options.missingMarkers(for: column))
            let kind: Kind
            if options.numeric.contains(column) {
                try profile.requireNumbers(name: name, column: column, what: "is numeric (--numeric)")
                kind = .numeric
            } else if options.categorical.contains(column) {
                kind = .categorical
            } else if options.date.contains(column) {
                kind = .date(try profile.dateOrder(name: name, column: column, forced: options.dateOrder))
            } else {
                kind = try profile.inferKind(name: name, column: column, options: options)
            }
            columns.append(Column(name: column, kind: kind))
            warnings += profile.warnings(column: column, kind: kind)
        }
        return (columns, warnings)
    }

    /// What one column's values are.
    struct Profile {
        var present = 0
        /// The finite numbers, and the rows and texts they came from.
        var numbers: [Double] = []
        var numberCells: [(row: Int, text: String)] = []
        /// Values that are not finite numbers (words, dates, `inf`, `1e400`), and among them the
        /// non-finite numbers, the ones shaped like dates, and the rest.
        var nonNumbers: [(row: Int, text: String)] = []
        var nonFinite: [(row: Int, text: String)] = []
        var dateCells: [(row: Int, text: String)] = []
        var otherTexts: [(row: Int, text: String)] = []
        let lines: [Int]

        init(_ table: CSVTable, index: Int, missing: Set<String>) {
            lines = table.lines
            for (row, fields) in table.rows.enumerated() {
                let raw = fields[index]
                switch CellValue(raw, missing: missing, decimalSeparator: table.dialect.decimalSeparator) {
                case .missing: continue
                case let .number(x):
                    numbers.append(x)
                    numberCells.append((row, raw.trimmingSpaces))
                case .nonFinite:
                    nonFinite.append((row, raw.trimmingSpaces))
                    nonNumbers.append((row, raw.trimmingSpaces))
                case let .text(text):
                    nonNumbers.append((row, text))
                    if DateReading.looksLikeDate(text) { dateCells.append((row, text)) } else { otherTexts.append((row, text)) }
                }
                present += 1
            }
        }

        /// "line 15 ("1160 - 1315"), line 40 ("1200 sqft") and 185 more".
        func listing(_ values: [(row: Int, text: String)]) -> String {
            let sorted = values.sorted { $0.row < $1.row }
            let shown = sorted.prefix(quoted).map { "line \(lines[$0.row]) (\"\($0.text)\")" }.joined(separator: ", ")
            return shown + (values.count > quoted ? " and \(values.count - quoted) more" : "")
        }

        /// `what`: how the column came to be numeric, for the error ("is mostly numbers (...)").
        func requireNumbers(name: String, column: String, what: String) throws(HousePriceError) {
            if let first = nonFinite.first {
                throw .badValue(file: name, line: lines[first.row], field: .column(column), value: first.text,
                                reason: "\"\(first.text)\" is not a finite number; pass --missing-in \"\(column)=\(first.text)\" "
                                    + "if it means no value, or --drop \"\(column)\"")
            }
            guard nonNumbers.isEmpty else {
                throw .columnType(file: name, column: column,
                                  reason: "\(what), but not at \(listing(nonNumbers)); pass --categorical \"\(column)\" "
                                      + "to read it as categories, --drop \"\(column)\" to leave it out, or --missing TEXT "
                                      + "(--missing-in \"\(column)=TEXT\") if a text means no value")
            }
        }

        func inferKind(name: String, column: String, options: Options) throws(HousePriceError) -> Kind {
            if present == 0 || nonNumbers.isEmpty { return .numeric }
            let numeric = numbers.count + nonFinite.count
            if Double(numeric) >= mostly * Double(present) {
                try requireNumbers(name: name, column: column, what: "is mostly numbers (\(numeric) of its \(present) values)")
            }
            if dateCells.count == present { return .date(try dateOrder(name: name, column: column, forced: options.dateOrder)) }
            if Double(dateCells.count) >= mostly * Double(present) {
                throw .columnType(file: name, column: column,
                                  reason: "holds dates (\(dateCells.count) of its \(present) values), but not at "
                                      + "\(listing(otherTexts + nonFinite + numberCells)); pass --categorical \"\(column)\", "
                                      + "--drop \"\(column)\", or --missing TEXT if a text means no value")
            }
            return .categorical
        }

        /// The day/month order of a date column: `forced` if given, else the one order that reads
        /// every value; then every value must read with it (numbers as YYYYMMDD).
        func dateOrder(name: String, column: String, forced: DateOrder?) throws(HousePriceError) -> DateOrder {
            let cells = nonNumbers + numberCells
            let order: DateOrder
            if let forced {
                order = forced
            } else {
                switch DateReading.chooseOrder(cells.lazy.map(\.text)) {
                case let .order(chosen): order = chosen
                case .ambiguous:
                    let example = cells.first { DateReading.parts($0.text)?.fixed == false }?.text ?? ""
                    throw .columnType(file: name, column: column,
                                      reason: "dates such as \"\(example)\" read both day first and month first, and no value "
                                          + "tells which; pass --date-format DMY or --date-format MDY")
                case let .contradictory(example):
                    throw .columnType(file: name, column: column,
                                      reason: "some dates must be day first and others month first (e.g. \"\(example)\"); "
                                          + "pass --date-format DMY or MDY to choose, or --categorical \"\(column)\"")
                }
            }
            let unreadable = cells.filter { DateReading.dayNumber($0.text, order: order) == nil }
            guard unreadable.isEmpty else {
                throw .columnType(file: name, column: column,
                                  reason: "is a date column (\(order.rawValue.uppercased())), but not at \(listing(unreadable)); "
                                      + "pass --missing TEXT if a text means no value, or --categorical \"\(column)\"")
            }
            return order
        }

        func warnings(column: String, kind: Kind) -> [String] {
            var warnings: [String] = []
            let integers = !numbers.isEmpty && numbers.allSatisfy { $0 == $0.rounded() && abs($0) < 1e15 }
            let distinct: Int = switch kind {
            case .numeric: Set(numbers).count
            case .categorical: Set(nonNumbers.map(\.text) + numbers.map { String($0) }).count
            case .date: 0
            }
            // Record ids repeat when a house is sold twice, so "almost every row" counts too.
            if present >= identifierMinimum && Double(distinct) >= identifierShare * Double(present) && (kind == .categorical || integers) {
                let how = distinct == present ? "every row" : "\(distinct) of its \(present) rows"
                warnings.append("column \"\(column)\" has a different value in \(how): an identifier? If so, leave it out with --drop \"\(column)\"")
                return warnings
            }
            guard kind == .numeric, integers else { return warnings }
            let lowered = column.lowercased()
            let codeWords = ["zip", "postal", "postcode", "code", "id"]
            let words = lowered.split { !$0.isLetter }
            if words.contains(where: { word in codeWords.contains { word == $0 || (word.hasSuffix($0) && $0.count > 2) } }) {
                warnings.append("column \"\(column)\" holds whole numbers and is named like a code; if its numbers are labels "
                    + "rather than amounts, pass --categorical \"\(column)\"")
            }
            let zeros = numbers.filter { $0 == 0 }.count
            let others = numbers.filter { $0 != 0 }
            if zeros * 20 >= present && others.count * 20 >= present && others.allSatisfy({ (1800...2100).contains($0) }) {
                warnings.append("column \"\(column)\" is 0 in \(zeros) rows while its other values look like years; if 0 means "
                    + "\"never\" or \"unknown\", pass --missing-in \"\(column)=0\"")
            }
            return warnings
        }
    }
}
