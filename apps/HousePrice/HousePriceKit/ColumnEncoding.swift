import Foundation

/// A number's features: the value standardised, a 0/1 missing indicator when the training rows had
/// gaps, and a piecewise-linear encoding over the training quantiles `binEdges` (one feature per
/// bin: 0 below it, 1 above, linear inside), which lets an MLP model sharp, non-monotone effects
/// such as location. Missing values take the training median.
public struct NumericScale: Codable, Equatable, Sendable {
    public let median: Double
    public let mean: Double
    /// Always finite and above 0.
    public let deviation: Double
    public let missingIndicator: Bool
    /// Strictly increasing; empty, or at least 3 edges (2 bins).
    public let binEdges: [Double]

    /// Features it writes per row.
    public var width: Int { 1 + (missingIndicator ? 1 : 0) + max(0, binEdges.count - 1) }

    /// Fits the scale on training values (`missing` more rows had none), with the bin edges that
    /// `binEdges` chooses given the values sorted (see `BinEdges`; the values are sorted once).
    /// - Precondition: `numbers` is not empty (callers skip columns without values).
    init(fitting numbers: [Double], missing: Int, binEdges: (_ sorted: [Double]) -> [Double]) {
        precondition(!numbers.isEmpty, "NumericScale: no values to fit")
        let sorted = numbers.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        // Statistics of the column as the network sees it: gaps filled with the median.
        let (mean, deviation) = meanAndDeviation(numbers + [Double](repeating: median, count: missing))
        self.median = median
        self.mean = mean
        self.deviation = deviation
        self.missingIndicator = missing > 0
        self.binEdges = binEdges(sorted)
    }

    /// Appends the features of `value` (nil: missing).
    func append(_ value: Double?, to features: inout [Float]) {
        let x = value ?? median
        features.append(Float((x - mean) / deviation))
        if missingIndicator { features.append(value == nil ? 1 : 0) }
        if binEdges.count >= 3 {
            for bin in 0..<(binEdges.count - 1) {
                features.append(Float(min(1, max(0, (x - binEdges[bin]) / (binEdges[bin + 1] - binEdges[bin])))))
            }
        }
    }

    /// Checks what a model file says; `context` names the column in errors.
    func validate(_ context: String) throws(PipelineValidationError) {
        guard median.isFinite, mean.isFinite else { throw .init("\(context): median and mean must be finite numbers") }
        guard deviation.isFinite, deviation > 0 else { throw .init("\(context): deviation must be a finite number above 0") }
        guard binEdges.isEmpty || binEdges.count >= 3 else { throw .init("\(context): binEdges must be empty or hold at least 3 edges") }
        guard binEdges.count <= FeaturePipeline.maximumBins + 1 else {
            throw .init("\(context): \(binEdges.count) bin edges, above the limit of \(FeaturePipeline.maximumBins + 1)")
        }
        guard binEdges.allSatisfy(\.isFinite), zip(binEdges, binEdges.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw .init("\(context): binEdges must be finite and strictly increasing")
        }
    }

    private enum CodingKeys: String, CodingKey { case median, mean, deviation, missingIndicator, binEdges }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        median = try container.decode(Double.self, forKey: .median)
        mean = try container.decode(Double.self, forKey: .mean)
        deviation = try container.decode(Double.self, forKey: .deviation)
        missingIndicator = try container.decodeIfPresent(Bool.self, forKey: .missingIndicator) ?? false
        binEdges = try container.decodeIfPresent([Double].self, forKey: .binEdges) ?? []
    }
}

/// Mean and population standard deviation; a deviation of (nearly) 0 becomes 1, so that a constant
/// standardises to 0 instead of dividing by zero.
func meanAndDeviation(_ values: [Double]) -> (Double, Double) {
    let mean = values.reduce(0, +) / Double(max(1, values.count))
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, values.count))
    let deviation = variance.squareRoot()
    return (mean, deviation > 1e-12 && deviation.isFinite ? deviation : 1)
}

/// A model file's preprocessing that cannot be used as it is (a number out of range, a list out of
/// order, a size above a limit).
public struct PipelineValidationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One input column as the model reads it.
public struct PipelineColumn: Codable, Equatable, Sendable {
    public enum Encoding: Equatable, Sendable {
        /// A number (see `NumericScale`).
        case numeric(NumericScale)
        /// One-hot over `categories` (sorted, unique), plus one "other" feature for values not
        /// among them: unseen in training, or too rare there to have their own.
        case categorical(categories: [String])
        /// A date read in `order`: its day number (days since 1970, fractions for the time) as a
        /// number, then the month as a point on a circle (sin, cos), for seasons.
        case date(order: DateOrder, days: NumericScale)
    }

    public let name: String
    public let encoding: Encoding
    /// Texts that mean "no value" in this column, besides the built-in ones and the pipeline's own.
    public let missingMarkers: [String]

    public init(name: String, encoding: Encoding, missingMarkers: [String] = []) {
        self.name = name
        self.encoding = encoding
        self.missingMarkers = missingMarkers
    }

    /// The number's scale (numeric columns) or the day number's (dates).
    public var scale: NumericScale? {
        switch encoding {
        case let .numeric(scale), let .date(_, scale): scale
        case .categorical: nil
        }
    }

    /// The categories of a categorical column.
    public var categories: [String]? {
        if case let .categorical(categories) = encoding { return categories }
        return nil
    }

    /// "numeric", "categorical" or "date".
    public var kind: String {
        switch encoding {
        case .numeric: "numeric"
        case .categorical: "categorical"
        case .date: "date"
        }
    }

    /// Features this column contributes.
    public var width: Int {
        switch encoding {
        case let .numeric(scale): scale.width
        case let .categorical(categories): categories.count + 1
        case let .date(_, days): days.width + 2
        }
    }

    // The file layout: {"name", "kind", then the kind's fields}; numeric and categorical columns
    // read as the format's first version wrote them.
    private enum CodingKeys: String, CodingKey {
        case name, kind, median, mean, deviation, missingIndicator, binEdges, categories, dateOrder, missingMarkers
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        missingMarkers = try container.decodeIfPresent([String].self, forKey: .missingMarkers) ?? []
        switch try container.decode(String.self, forKey: .kind) {
        case "numeric": encoding = .numeric(try NumericScale(from: decoder))
        case "categorical": encoding = .categorical(categories: try container.decode([String].self, forKey: .categories))
        case "date":
            encoding = .date(order: try container.decode(DateOrder.self, forKey: .dateOrder), days: try NumericScale(from: decoder))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container,
                                                   debugDescription: "unknown column kind \"\(other)\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        if !missingMarkers.isEmpty { try container.encode(missingMarkers, forKey: .missingMarkers) }
        func encodeScale(_ scale: NumericScale) throws {
            try container.encode(scale.median, forKey: .median)
            try container.encode(scale.mean, forKey: .mean)
            try container.encode(scale.deviation, forKey: .deviation)
            try container.encode(scale.missingIndicator, forKey: .missingIndicator)
            if !scale.binEdges.isEmpty { try container.encode(scale.binEdges, forKey: .binEdges) }
        }
        switch encoding {
        case let .numeric(scale): try encodeScale(scale)
        case let .categorical(categories): try container.encode(categories, forKey: .categories)
        case let .date(order, days):
            try container.encode(order, forKey: .dateOrder)
            try encodeScale(days)
        }
    }

    /// Checks what a model file says about this column.
    func validate() throws(PipelineValidationError) {
        let context = "column \"\(name)\""
        switch encoding {
        case let .numeric(scale): try scale.validate(context)
        case let .date(_, days): try days.validate(context)
        case let .categorical(categories):
            guard categories.count <= FeaturePipeline.maximumCategoriesInFile else {
                throw .init("\(context): \(categories.count) categories, above the limit of \(FeaturePipeline.maximumCategoriesInFile)")
            }
            guard zip(categories, categories.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw .init("\(context): categories must be sorted and unique")
            }
        }
    }
}
