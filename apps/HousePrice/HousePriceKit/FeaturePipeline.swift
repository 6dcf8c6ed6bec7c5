import Backprop
import Foundation
import StrictCSV

/// Turns CSV rows into network inputs and prices into training targets, with every statistic
/// fitted on the training rows only and saved in the model file, so that `predict` reproduces it.
///
/// Numeric column: missing values take the training median (plus a 0/1 missing-indicator feature
/// when the training rows had gaps); the value is standardised; and when it has at least
/// `bins` distinct values (32 by default) it is also encoded piecewise-linearly over its training quantiles
/// (one feature per quantile bin: 0 below the bin, 1 above, linear inside), which lets an MLP
/// model sharp, non-monotone effects such as location. Categorical column: one-hot over the
/// `maximumCategories` most frequent training values, plus an unknown bucket. Target: optional
/// log, then standardised.
public struct FeaturePipeline: Codable, Equatable, Sendable {
    public struct Column: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable { case numeric, categorical }
        public let name: String
        public let kind: Kind
        // Numeric columns.
        public var median: Double?
        public var mean: Double?
        public var deviation: Double?
        public var missingIndicator: Bool?
        public var binEdges: [Double]?
        // Categorical columns: one-hot order; one more feature follows for unknown values.
        public var categories: [String]?

        /// Features this column contributes.
        public var width: Int {
            switch kind {
            case .numeric: 1 + (missingIndicator == true ? 1 : 0) + max(0, (binEdges?.count ?? 0) - 1)
            case .categorical: (categories?.count ?? 0) + 1
            }
        }
    }

    public var target: String
    public var logTarget: Bool
    public var targetMean: Double
    public var targetDeviation: Double
    public var columns: [Column]
    /// Columns left out on request.
    public var dropped: [String]

    /// Quantile bins per numeric column, by default.
    public static let defaultBins = 32
    /// Categories kept per column; rarer ones share the unknown bucket.
    public static let maximumCategories = 64
    /// A column is numeric when at least this share of its non-missing training values are numbers.
    public static let numericShare = 0.95

    /// Features per row.
    public var featureCount: Int { columns.reduce(0) { $0 + $1.width } }

    /// Label for `predict`'s output column.
    public var predictionColumn: String { "predicted_\(target)" }

    // MARK: - Fitting

    /// Fits the pipeline on `trainingRows` of `table`, inferring column types.
    /// - Returns: the pipeline and warnings worth showing (empty columns, ...).
    public static func fit(_ table: CSVTable, name: String, target: String, drop: [String], logTarget: Bool,
                           bins: Int = defaultBins, trainingRows: [Int],
                           targets: [Int: Double]) throws(HousePriceError) -> (FeaturePipeline, [String]) {
        var warnings: [String] = []
        guard let targetIndex = table.column(target) else {
            throw .missingColumn(file: name, column: target,
                                 reason: "no target column \"\(target)\" (columns: \(table.header.joined(separator: ", ")))")
        }
        for column in drop where table.column(column) == nil {
            throw .missingColumn(file: name, column: column, reason: "no column \"\(column)\" to drop")
        }
        var columns: [Column] = []
        for (index, columnName) in table.header.enumerated() where index != targetIndex && !drop.contains(columnName) {
            let values = trainingRows.map { CellValue(table.rows[$0][index]) }
            var numbers: [Double] = []
            var texts = 0
            for value in values {
                switch value {
                case let .number(x): numbers.append(x)
                case .text, .overflow: texts += 1
                case .missing: break
                }
            }
            let present = numbers.count + texts
            if present == 0 {
                warnings.append("column \"\(columnName)\" has no values in the training rows; ignored")
                continue
            }
            if Double(numbers.count) >= numericShare * Double(present) {
                // A numeric column: every value in the whole file must be a finite number or missing.
                for row in 0..<table.rows.count {
                    switch CellValue(table.rows[row][index]) {
                    case let .text(text):
                        throw .badValue(file: name, line: table.lines[row], field: .column(columnName), value: text,
                                        reason: "\"\(text)\" is not a number (\(numbers.count) of the column's \(present) training values are)")
                    case .overflow:
                        let value = table.rows[row][index].trimmingSpaces
                        throw .badValue(file: name, line: table.lines[row], field: .column(columnName), value: value,
                                        reason: "\"\(value)\" overflows a 64-bit float")
                    default: break
                    }
                }
                columns.append(numericColumn(columnName, numbers: numbers, missing: values.count - numbers.count, bins: bins))
            } else {
                var counts: [String: Int] = [:]
                for value in values {
                    switch value {
                    case let .text(text): counts[text, default: 0] += 1
                    case let .number(x): counts[String(x), default: 0] += 1
                    case .overflow, .missing: counts[missingCategory, default: 0] += 1
                    }
                }
                let kept = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                    .prefix(maximumCategories).map(\.key)
                if counts.count > maximumCategories {
                    warnings.append("column \"\(columnName)\" has \(counts.count) categories; the \(maximumCategories) "
                        + "most frequent are kept, the rest share one bucket (drop it with --drop if it is an id)")
                }
                columns.append(Column(name: columnName, kind: .categorical, categories: kept.sorted()))
            }
        }
        guard !columns.isEmpty else { throw .notEnoughData(file: name, reason: "no feature columns left besides the target") }
        let transformed = trainingRows.map { transformTarget(targets[$0]!, log: logTarget) }
        let (mean, deviation) = meanAndDeviation(transformed)
        return (FeaturePipeline(target: target, logTarget: logTarget, targetMean: mean, targetDeviation: deviation,
                                columns: columns, dropped: drop), warnings)
    }

    static let missingCategory = "(missing)"

    private static func numericColumn(_ name: String, numbers: [Double], missing: Int, bins: Int) -> Column {
        let sorted = numbers.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        // Statistics of the column as the network sees it: gaps filled with the median.
        let imputed = numbers + [Double](repeating: median, count: missing)
        let (mean, deviation) = meanAndDeviation(imputed)
        var edges: [Double] = []
        if bins >= 2 && Set(sorted).count >= bins {
            for k in 0...bins {
                let edge = sorted[min(sorted.count - 1, k * (sorted.count - 1) / bins)]
                if edges.last != edge { edges.append(edge) }
            }
        }
        return Column(name: name, kind: .numeric, median: median, mean: mean, deviation: deviation,
                      missingIndicator: missing > 0, binEdges: edges.count >= 3 ? edges : nil)
    }

    static func meanAndDeviation(_ values: [Double]) -> (Double, Double) {
        let mean = values.reduce(0, +) / Double(max(1, values.count))
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, values.count))
        let deviation = variance.squareRoot()
        return (mean, deviation > 1e-12 ? deviation : 1)
    }

    static func transformTarget(_ value: Double, log: Bool) -> Double { log ? Foundation.log(value) : value }

    // MARK: - Applying

    /// Network inputs `[rows.count, featureCount]` for `rows` of `table`, plus warnings (unseen
    /// categories, which go to the unknown bucket).
    /// - Throws: naming a missing column, or the line, column and value that is not a number.
    public func features(_ table: CSVTable, name: String, rows: [Int]) throws(HousePriceError) -> (Tensor, [String]) {
        var indices: [Int] = []
        for column in columns {
            guard let index = table.column(column.name) else {
                throw .missingColumn(file: name, column: column.name, reason: "the model needs column \"\(column.name)\", which this file lacks")
            }
            indices.append(index)
        }
        var unseen: [String: (count: Int, example: String)] = [:]
        var scalars = [Float]()
        scalars.reserveCapacity(rows.count * featureCount)
        for row in rows {
            for (column, index) in zip(columns, indices) {
                let raw = table.rows[row][index]
                switch column.kind {
                case .numeric:
                    let x: Double
                    var missing: Float = 0
                    switch CellValue(raw) {
                    case let .number(value): x = value
                    case .missing:
                        x = column.median!
                        missing = 1
                    case .text, .overflow:
                        throw .badValue(file: name, line: table.lines[row], field: .column(column.name), value: raw.trimmingSpaces,
                                        reason: "\"\(raw.trimmingSpaces)\" is not a number")
                    }
                    scalars.append(Float((x - column.mean!) / column.deviation!))
                    if column.missingIndicator == true { scalars.append(missing) }
                    if let edges = column.binEdges {
                        for bin in 0..<(edges.count - 1) {
                            scalars.append(Float(min(1, max(0, (x - edges[bin]) / (edges[bin + 1] - edges[bin])))))
                        }
                    }
                case .categorical:
                    let categories = column.categories!
                    let value: String = switch CellValue(raw) {
                    case let .text(text): text
                    case let .number(x): String(x)
                    case .missing, .overflow: FeaturePipeline.missingCategory
                    }
                    let position = categories.firstIndex(of: value)
                    if position == nil { unseen[column.name, default: (0, value)].count += 1 }
                    for k in 0...categories.count { scalars.append(k == (position ?? categories.count) ? 1 : 0) }
                }
            }
        }
        let warnings = unseen.keys.sorted().map { column in
            "column \"\(column)\": \(unseen[column]!.count) value(s) the model never saw (e.g. \"\(unseen[column]!.example)\") "
                + "were treated as unknown"
        }
        return (Tensor(shape: [rows.count, featureCount], scalars: scalars), warnings)
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
    /// - Throws: for a target that is not a number, overflows, or is ≤ 0 with a log target.
    public static func readTargets(_ table: CSVTable, name: String, target: String,
                                   logTarget: Bool) throws(HousePriceError) -> (values: [Int: Double], missingLines: [Int]) {
        guard let index = table.column(target) else {
            throw .missingColumn(file: name, column: target,
                                 reason: "no target column \"\(target)\" (columns: \(table.header.joined(separator: ", ")))")
        }
        var values: [Int: Double] = [:]
        var missingLines: [Int] = []
        for (row, fields) in table.rows.enumerated() {
            switch CellValue(fields[index]) {
            case let .number(value):
                if logTarget && value <= 0 {
                    throw .badValue(file: name, line: table.lines[row], field: .target(target), value: fields[index].trimmingSpaces,
                                    reason: "\(fields[index].trimmingSpaces) is not above 0, which --log-target needs")
                }
                values[row] = value
            case .missing: missingLines.append(table.lines[row])
            case .overflow:
                throw .badValue(file: name, line: table.lines[row], field: .target(target), value: fields[index].trimmingSpaces,
                                reason: "\"\(fields[index].trimmingSpaces)\" overflows a 64-bit float")
            case let .text(text):
                throw .badValue(file: name, line: table.lines[row], field: .target(target), value: text, reason: "\"\(text)\" is not a number")
            }
        }
        return (values, missingLines)
    }
}
