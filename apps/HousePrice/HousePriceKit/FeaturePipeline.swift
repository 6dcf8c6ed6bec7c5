import Backprop
import Foundation
import StrictCSV

/// Turns CSV rows into network inputs and prices into training targets, with every statistic
/// fitted on the training rows only and saved in the model file, so that `predict` reproduces it.
///
/// Each column is numeric, categorical or a date (see `ColumnTyping` for how that is decided, and
/// `PipelineColumn.Encoding` for the features of each). The target: optional log, then
/// standardised. `Preprocessing.md` in this folder is the file format's specification, and
/// `Tools/house-price-reference.py` rebuilds features and predictions from it in Python.
public struct FeaturePipeline: Codable, Equatable, Sendable {
    public var target: String
    public var logTarget: Bool
    public var targetMean: Double
    public var targetDeviation: Double
    public var columns: [PipelineColumn]
    /// Columns left out on request.
    public var dropped: [String]
    /// Texts that mean "no value" in every column, besides `CellValue.missingMarkers`.
    public var missingMarkers: [String]
    /// Positions read from latitude and longitude columns; their features follow the columns'.
    public var locations: [LocationEncoding]

    /// Quantile bins per numeric column, by default.
    public static let defaultBins = 32
    /// The most bins a model file may ask for.
    public static let maximumBins = 1024
    /// Categories kept per column at most; rarer ones share the "other" bucket.
    public static let maximumCategories = 64
    /// A category needs at least this many training rows to get its own feature, by default.
    public static let defaultMinimumCategoryCount = 5
    /// Limits on what a model file may declare, checked before any allocation that depends on them.
    public static let maximumCategoriesInFile = 100_000
    public static let maximumColumns = 10_000
    public static let maximumFeatures = 1_000_000

    public init(target: String, logTarget: Bool, targetMean: Double, targetDeviation: Double,
                columns: [PipelineColumn], dropped: [String], missingMarkers: [String] = [],
                locations: [LocationEncoding] = []) {
        self.target = target
        self.logTarget = logTarget
        self.targetMean = targetMean
        self.targetDeviation = targetDeviation
        self.columns = columns
        self.dropped = dropped
        self.missingMarkers = missingMarkers
        self.locations = locations
    }

    /// Features per row.
    public var featureCount: Int { columns.reduce(0) { $0 + $1.width } + locations.reduce(0) { $0 + $1.width } }

    /// Where in a row of features the numbers' bins are (each scale writes its value, its missing
    /// indicator, then its bins): what lets the network's first layer multiply them by prefix
    /// sums instead of column by column while training.
    public var thermometerColumns: ThermometerColumns {
        var groups: [Range<Int>] = []
        var start = 0
        func add(_ scale: NumericScale) {
            let bins = scale.width - 1 - (scale.missingIndicator ? 1 : 0)
            if bins > 0 { groups.append((start + scale.width - bins)..<(start + scale.width)) }
        }
        for column in columns {
            if let scale = column.scale { add(scale) }
            start += column.width
        }
        for location in locations {
            for projection in location.projections {
                add(projection)
                start += projection.width
            }
        }
        return ThermometerColumns(groups: groups)
    }

    /// Label for `predict`'s output column.
    public var predictionColumn: String { "predicted_\(target)" }

    private enum CodingKeys: String, CodingKey {
        case target, logTarget, targetMean, targetDeviation, columns, dropped, missingMarkers, locations
    }

    /// Decodes and checks a model file's preprocessing: every number finite, deviations above 0,
    /// bin edges increasing, categories sorted and unique, column names unique, sizes within the
    /// limits above.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        target = try container.decode(String.self, forKey: .target)
        logTarget = try container.decode(Bool.self, forKey: .logTarget)
        targetMean = try container.decode(Double.self, forKey: .targetMean)
        targetDeviation = try container.decode(Double.self, forKey: .targetDeviation)
        columns = try container.decode([PipelineColumn].self, forKey: .columns)
        dropped = try container.decodeIfPresent([String].self, forKey: .dropped) ?? []
        missingMarkers = try container.decodeIfPresent([String].self, forKey: .missingMarkers) ?? []
        locations = try container.decodeIfPresent([LocationEncoding].self, forKey: .locations) ?? []
        try validate()
    }

    /// The checks `init(from:)` makes.
    public func validate() throws(PipelineValidationError) {
        guard targetMean.isFinite, targetDeviation.isFinite, targetDeviation > 0 else {
            throw .init("the target's mean and deviation must be finite, the deviation above 0")
        }
        guard !columns.isEmpty, columns.count <= Self.maximumColumns else {
            throw .init("\(columns.count) columns; a model needs 1 to \(Self.maximumColumns)")
        }
        guard Set(columns.map(\.name)).count == columns.count else { throw .init("a column name appears twice") }
        guard !columns.contains(where: { $0.name == target }) else { throw .init("the target is also an input column") }
        for column in columns { try column.validate() }
        guard locations.count <= Self.maximumColumns else { throw .init("\(locations.count) locations, above the limit") }
        for location in locations { try location.validate() }
        guard featureCount <= Self.maximumFeatures else {
            throw .init("\(featureCount) features, above the limit of \(Self.maximumFeatures)")
        }
    }

    // MARK: - Fitting

    /// Fits the pipeline on `trainingRows` of `table` (the types from `typing`), with warnings worth
    /// showing before training starts: ignored columns, identifiers, codes, pooled categories.
    public static func fit(_ table: CSVTable, name: String, target: String, typing: ColumnTyping.Options,
                           logTarget: Bool, bins: Int = defaultBins, binPlacement: BinPlacement = .quantiles,
                           minimumCategoryCount: Int = defaultMinimumCategoryCount,
                           coordinates: CoordinateColumns = .automatic, trainingRows: [Int],
                           targets: [Int: Double]) throws(HousePriceError) -> (FeaturePipeline, [String]) {
        guard table.column(target) != nil else {
            throw .missingColumn(file: name, column: target,
                                 reason: "no target column \"\(target)\" (columns: \(table.header.joined(separator: ", ")))")
        }
        let typed = try ColumnTyping.infer(table, name: name, target: target, options: typing)
        var warnings = typed.warnings
        var columns: [PipelineColumn] = []
        /// The scale of a number column from its training rows' values (nil: missing).
        func scale(_ values: [(row: Int, value: Double?)]) -> NumericScale {
            let present = values.compactMap { $0.value == nil ? nil : ($0.row, $0.value!) }
            let numbers = present.map(\.1)
            return NumericScale(fitting: numbers, missing: values.count - numbers.count) { sorted in
                switch binPlacement {
                case .quantiles: BinEdges.quantiles(sorted, bins: bins)
                case .target: BinEdges.targetTree(values: numbers, targets: present.map { transformTarget(targets[$0.0]!, log: logTarget) },
                                                  bins: bins)
                }
            }
        }
        for column in typed.columns {
            let index = table.column(column.name)!
            let markers = typing.missingMarkers(for: column.name)
            let values = trainingRows.map { CellValue(table.rows[$0][index], missing: markers, decimalSeparator: table.dialect.decimalSeparator) }
            let present = values.filter { $0 != .missing }.count
            if present == 0 {
                warnings.append("column \"\(column.name)\" has no values in the training rows; ignored")
                continue
            }
            let columnMarkers = typing.columnMissing[column.name] ?? []
            switch column.kind {
            case .numeric:
                let numbers = values.compactMap { if case let .number(x) = $0 { x } else { nil } }
                if Set(numbers).count == 1 && present == values.count {
                    warnings.append("column \"\(column.name)\" has the same value (\(numbers[0].formatted())) in every training row; ignored")
                    continue
                }
                let cells = zip(trainingRows, values).map { row, value -> (Int, Double?) in
                    if case let .number(x) = value { return (row, x) } else { return (row, nil) }
                }
                columns.append(PipelineColumn(name: column.name, encoding: .numeric(scale(cells)), missingMarkers: columnMarkers))
            case .date(let order):
                let days = trainingRows.map { row -> (Int, Double?) in
                    let text = table.rows[row][index].trimmingSpaces
                    return (row, markers.contains(text) || CellValue.missingMarkers.contains(text) ? nil : DateReading.dayNumber(text, order: order))
                }
                columns.append(PipelineColumn(name: column.name, encoding: .date(order: order, days: scale(days)),
                                              missingMarkers: columnMarkers))
            case .categorical:
                var counts: [String: Int] = [:]
                for (row, value) in zip(trainingRows, values) { counts[categoryText(value, raw: table.rows[row][index]), default: 0] += 1 }
                let frequent = counts.filter { $0.value >= minimumCategoryCount }
                    .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                let kept = frequent.prefix(maximumCategories).map(\.key)
                if counts.count == 1 {
                    warnings.append("column \"\(column.name)\" has the same value (\"\(counts.keys.first!)\") in every training row; ignored")
                    continue
                }
                let pooled = counts.count - kept.count
                if pooled > 0 {
                    let rows = counts.filter { !kept.contains($0.key) }.values.reduce(0, +)
                    warnings.append("column \"\(column.name)\": \(pooled) of its \(counts.count) categories (\(rows) training rows) "
                        + (frequent.count > maximumCategories ? "are beyond the \(maximumCategories) most frequent or " : "")
                        + "occur fewer than \(minimumCategoryCount) times; they share the \"other\" bucket with values not seen in training")
                }
                columns.append(PipelineColumn(name: column.name, encoding: .categorical(categories: kept.sorted()),
                                              missingMarkers: columnMarkers))
            }
        }
        guard !columns.isEmpty else { throw .notEnoughData(file: name, reason: "no usable feature columns besides the target") }
        var locations: [LocationEncoding] = []
        let numericColumns = columns.filter { $0.kind == "numeric" }.map(\.name)
        let pair: (latitude: String, longitude: String)? = switch coordinates {
        case .automatic: LocationEncoding.detect(numericColumns)
        case .none: nil
        case let .columns(latitude, longitude): (latitude, longitude)
        }
        if let pair {
            guard numericColumns.contains(pair.latitude), numericColumns.contains(pair.longitude) else {
                throw .columnType(file: name, column: numericColumns.contains(pair.latitude) ? pair.longitude : pair.latitude,
                                  reason: "is named by --coordinates but is not a numeric column with values")
            }
            let (latIndex, lonIndex) = (table.column(pair.latitude)!, table.column(pair.longitude)!)
            let points = trainingRows.map { row -> (lat: Double?, lon: Double?) in
                func read(_ index: Int, _ column: String) -> Double? {
                    if case let .number(x) = CellValue(table.rows[row][index], missing: typing.missingMarkers(for: column),
                                                     decimalSeparator: table.dialect.decimalSeparator) { return x }
                    return nil
                }
                return (read(latIndex, pair.latitude), read(lonIndex, pair.longitude))
            }
            let inRange = points.allSatisfy { ($0.lat.map { abs($0) <= 90 } ?? true) && ($0.lon.map { abs($0) <= 180 } ?? true) }
            // A position needs both coordinates: with fewer than two such rows there is nothing to fit.
            let complete = points.filter { $0.lat != nil && $0.lon != nil }.count
            if inRange && complete >= 2 {
                let location = LocationEncoding(latitude: pair.latitude, longitude: pair.longitude, coordinates: points) { sorted in
                    BinEdges.quantiles(sorted, bins: bins)
                }
                locations.append(location)
                warnings.append("\"\(pair.latitude)\" and \"\(pair.longitude)\" are read as a location too (\(location.angles.count) "
                    + "projections at 15° steps); --coordinates none turns this off")
            } else if case .columns = coordinates {
                throw .columnType(file: name, column: pair.latitude,
                                  reason: inRange ? "and \"\(pair.longitude)\" are both present in fewer than 2 training rows"
                                      : "and \"\(pair.longitude)\" are not coordinates in degrees (latitude within ±90, longitude within ±180)")
            }
        }
        let transformed = trainingRows.map { transformTarget(targets[$0]!, log: logTarget) }
        let (mean, deviation) = meanAndDeviation(transformed)
        let pipeline = FeaturePipeline(target: target, logTarget: logTarget, targetMean: mean, targetDeviation: deviation,
                                       columns: columns, dropped: typing.drop, missingMarkers: typing.missing,
                                       locations: locations)
        do {
            try pipeline.validate()
        } catch {
            throw .notEnoughData(file: name, reason: error.description)
        }
        return (pipeline, warnings)
    }

    /// Which columns give a house's location (see `LocationEncoding`).
    public enum CoordinateColumns: Codable, Equatable, Sendable {
        /// A latitude and a longitude column found by name, if there is exactly one of each.
        case automatic
        case none
        case columns(latitude: String, longitude: String)
    }

    static let missingCategory = "(missing)"

    /// The category a cell stands for: its text, a number as written, or "(missing)".
    static func categoryText(_ value: CellValue, raw: String) -> String {
        switch value {
        case let .text(text): text
        case let .number(x): String(x)
        case .nonFinite: raw.trimmingSpaces
        case .missing: missingCategory
        }
    }

    static func transformTarget(_ value: Double, log: Bool) -> Double { log ? Foundation.log(value) : value }

    // MARK: - Applying

    /// Texts that mean "no value" in `column`.
    func missingMarkers(for column: PipelineColumn) -> Set<String> {
        Set(missingMarkers).union(column.missingMarkers)
    }

    /// Values that a categorical column read as "other" (not among its categories): how many, and
    /// the first one seen, per column. Kept apart from the messages so that chunks of one file add up.
    public struct OutsideCategories: Sendable, Equatable {
        public private(set) var counts: [String: Int] = [:]
        public private(set) var examples: [String: String] = [:]

        public init() {}

        mutating func add(column: String, value: String) {
            counts[column, default: 0] += 1
            if examples[column] == nil { examples[column] = value }
        }

        public mutating func merge(_ other: OutsideCategories) {
            for (column, count) in other.counts {
                counts[column, default: 0] += count
                if examples[column] == nil { examples[column] = other.examples[column] }
            }
        }

        /// One warning per column.
        public var messages: [String] {
            counts.keys.sorted().map { column in
                "column \"\(column)\": \(counts[column]!) value(s) not among the model's categories (not seen in training, "
                    + "or too rare there), e.g. \"\(examples[column]!)\", were read as \"other\""
            }
        }
    }

    /// Network inputs `[rows.count, featureCount]` for `rows` of `table`, and the values read as
    /// "other" (outside a column's categories).
    /// - Throws: naming a missing column, or the line, column and value that cannot be read as
    ///   the column's kind.
    public func features(_ table: CSVTable, name: String,
                         rows: some Collection<Int>) throws(HousePriceError) -> (Tensor, OutsideCategories) {
        var indices: [Int] = []
        for column in columns {
            guard let index = table.column(column.name) else {
                throw .missingColumn(file: name, column: column.name, reason: "the model needs column \"\(column.name)\", which this file lacks")
            }
            indices.append(index)
        }
        let markers = columns.map(missingMarkers(for:))
        var locationIndices: [(Int, Int)] = []
        for location in locations {
            guard let lat = table.column(location.latitude), let lon = table.column(location.longitude) else {
                let missing = table.column(location.latitude) == nil ? location.latitude : location.longitude
                throw .missingColumn(file: name, column: missing, reason: "the model needs column \"\(missing)\", which this file lacks")
            }
            locationIndices.append((lat, lon))
        }
        func columnMarkers(_ column: String) -> Set<String> {
            Set(missingMarkers).union(columns.first { $0.name == column }?.missingMarkers ?? [])
        }
        let locationMarkers = locations.map { (columnMarkers($0.latitude), columnMarkers($0.longitude)) }
        var outside = OutsideCategories()
        var scalars = [Float]()
        scalars.reserveCapacity(rows.count * featureCount)
        for row in rows {
            for (position, (column, index)) in zip(columns, indices).enumerated() {
                let raw = table.rows[row][index]
                let value = CellValue(raw, missing: markers[position], decimalSeparator: table.dialect.decimalSeparator)
                func bad(_ reason: String) -> HousePriceError {
                    .badValue(file: name, line: table.lines[row], field: .column(column.name), value: raw.trimmingSpaces, reason: reason)
                }
                switch column.encoding {
                case let .numeric(scale):
                    switch value {
                    case let .number(x): scale.append(x, to: &scalars)
                    case .missing: scale.append(nil, to: &scalars)
                    case .nonFinite: throw bad("\"\(raw.trimmingSpaces)\" is not a finite number")
                    case .text: throw bad("\"\(raw.trimmingSpaces)\" is not a number")
                    }
                case let .date(order, days):
                    var dayNumber: Double? = nil
                    if value != .missing {
                        guard let day = DateReading.dayNumber(raw.trimmingSpaces, order: order) else {
                            throw bad("\"\(raw.trimmingSpaces)\" is not a date in this column's form (\(order.rawValue.uppercased()))")
                        }
                        dayNumber = day
                    }
                    days.append(dayNumber, to: &scalars)
                    // The month as an angle; a missing date sits at the circle's centre.
                    if let dayNumber {
                        let angle = 2 * Double.pi * Double(DateReading.month(ofDayNumber: dayNumber) - 1) / 12
                        scalars.append(Float(sin(angle)))
                        scalars.append(Float(cos(angle)))
                    } else {
                        scalars.append(0)
                        scalars.append(0)
                    }
                case let .categorical(categories):
                    let text = FeaturePipeline.categoryText(value, raw: raw)
                    let position = binarySearch(categories, text)
                    if position == nil { outside.add(column: column.name, value: text) }
                    for k in 0...categories.count { scalars.append(k == (position ?? categories.count) ? 1 : 0) }
                }
            }
            for (position, (location, (lat, lon))) in zip(locations, locationIndices).enumerated() {
                func coordinate(_ index: Int, _ column: String, _ missing: Set<String>) throws(HousePriceError) -> Double? {
                    let raw = table.rows[row][index]
                    switch CellValue(raw, missing: missing, decimalSeparator: table.dialect.decimalSeparator) {
                    case let .number(x): return x
                    case .missing: return nil
                    case .nonFinite, .text:
                        throw .badValue(file: name, line: table.lines[row], field: .column(column), value: raw.trimmingSpaces,
                                        reason: "\"\(raw.trimmingSpaces)\" is not a finite number")
                    }
                }
                let values = location.projected(latitude: try coordinate(lat, location.latitude, locationMarkers[position].0),
                                                longitude: try coordinate(lon, location.longitude, locationMarkers[position].1))
                for (scale, value) in zip(location.projections, values) { scale.append(value, to: &scalars) }
            }
        }
        return (Tensor(shape: [rows.count, featureCount], scalars: scalars), outside)
    }

    /// The index of `value` in the sorted `categories`.
    private func binarySearch(_ categories: [String], _ value: String) -> Int? {
        var (low, high) = (0, categories.count)
        while low < high {
            let middle = (low + high) / 2
            if categories[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low < categories.count && categories[low] == value ? low : nil
    }

    /// The standardised (and optionally logged) training target for a price.
    public func encodeTarget(_ value: Double) -> Float {
        Float((FeaturePipeline.transformTarget(value, log: logTarget) - targetMean) / targetDeviation)
    }

    /// A price from the network's output.
    public func decodeTarget(_ output: Float) -> Double {
        let value = Double(output) * targetDeviation + targetMean
        return logTarget ? exp(value) : value
    }

    /// Target values by row index for the rows that have one, and the lines of rows without.
    /// - Throws: for a target that is not a finite number, or is ≤ 0 with a log target.
    public static func readTargets(_ table: CSVTable, name: String, target: String,
                                   logTarget: Bool) throws(HousePriceError) -> (values: [Int: Double], missingLines: [Int]) {
        guard let index = table.column(target) else {
            throw .missingColumn(file: name, column: target,
                                 reason: "no target column \"\(target)\" (columns: \(table.header.joined(separator: ", ")))")
        }
        var values: [Int: Double] = [:]
        var missingLines: [Int] = []
        for (row, fields) in table.rows.enumerated() {
            let raw = fields[index].trimmingSpaces
            func bad(_ reason: String) -> HousePriceError {
                .badValue(file: name, line: table.lines[row], field: .target(target), value: raw, reason: reason)
            }
            switch CellValue(fields[index], missing: [], decimalSeparator: table.dialect.decimalSeparator) {
            case let .number(value):
                if logTarget && value <= 0 { throw bad("\(raw) is not above 0, which --log-target needs") }
                values[row] = value
            case .missing: missingLines.append(table.lines[row])
            case .nonFinite: throw bad("\"\(raw)\" is not a finite number")
            case .text: throw bad("\"\(raw)\" is not a number")
            }
        }
        return (values, missingLines)
    }
}
