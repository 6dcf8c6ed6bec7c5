import Backprop
import Foundation
import ModelFile
import StrictCSV

/// A trained price model with its preprocessing, ready to price rows: CSV tables or a single row
/// given as column → text.
///
/// An immutable value: one predictor may be shared by any number of threads.
public struct HousePricePredictor: Sendable {
    public let network: Network
    public let metadata: ModelMetadata
    public let pipeline: FeaturePipeline

    /// Loads the model file at `path`.
    public init(contentsOf path: String) throws(HousePriceError) {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.contents(of: path)
        } catch {
            throw .invalidModel(file: path, reason: error.reason)
        }
        try self.init(modelBytes: bytes, name: path)
    }

    /// Loads a model file's bytes already in memory; `name` labels errors.
    public init(modelBytes bytes: [UInt8], name: String = "model") throws(HousePriceError) {
        let loaded: ModelFile.Loaded
        let pipeline: FeaturePipeline
        do {
            (loaded, pipeline) = try ModelFile.load(bytes: bytes, task: "house-price", preprocessing: FeaturePipeline.self)
        } catch {
            throw .invalidModel(file: name, reason: error.reason)
        }
        try self.init(network: loaded.network, metadata: loaded.metadata, pipeline: pipeline, name: name)
    }

    /// A predictor from a network already in memory; `name` labels errors.
    public init(network: Network, metadata: ModelMetadata, pipeline: FeaturePipeline,
                name: String = "model") throws(HousePriceError) {
        guard network.inputShape == [pipeline.featureCount], network.outputShape == [1] else {
            throw .invalidModel(file: name, reason: "the network does not match its preprocessing (\(pipeline.featureCount) features)")
        }
        self.network = network
        self.metadata = metadata
        self.pipeline = pipeline
    }

    /// Rows per network call: 1,024, or fewer for models with so many features that 1,024 rows
    /// of them would take more than 4 MB (a model file may declare up to a million features).
    public var batchSize: Int { min(Self.maximumBatchSize, max(1, (1 << 20) / max(1, pipeline.featureCount))) }
    public static let maximumBatchSize = 1024
    /// Rows priced per chunk when streaming: a multiple of `batchSize`, so that every row meets the
    /// same batches as when the whole file is priced at once, and the prices are bit for bit the same.
    public var chunkRows: Int { 8 * batchSize }
    /// `chunkRows` of a model with up to 1,024 features.
    public static let chunkRows = 8 * maximumBatchSize

    /// Predicted prices for every row of `table`, and warnings about values outside the model's
    /// categories.
    /// - Throws: for a row the model cannot read, or whose price is not a finite number.
    public func predict(_ table: CSVTable, name: String,
                        threads: Int = ExecutionContext.availableProcessors) throws(HousePriceError) -> (prices: [Double], warnings: [String]) {
        let (prices, outside) = try prices(table, name: name, threads: threads)
        return (prices, outside.messages)
    }

    private func prices(_ table: CSVTable, name: String,
                        threads: Int) throws(HousePriceError) -> (prices: [Double], outside: FeaturePipeline.OutsideCategories) {
        let (inputs, outside) = try pipeline.features(table, name: name, rows: table.rows.indices)
        let outputs = network.predict(inputs, batchSize: batchSize, threads: threads)
        let prices = outputs.scalars.map(pipeline.decodeTarget)
        if let row = prices.firstIndex(where: { !$0.isFinite }) {
            throw .nonFinitePrediction(file: name, line: table.lines[row])
        }
        return (prices, outside)
    }

    /// Prices every row `reader` reads, `chunkRows` at a time, handing each chunk and its prices to
    /// `each` as soon as they are ready: memory stays constant whatever the file's size.
    /// - Returns: warnings about values outside the model's categories, for the whole file.
    public func predict(_ reader: inout CSVReader, threads: Int = ExecutionContext.availableProcessors,
                        each: (CSVTable, [Double]) throws -> Void) throws -> [String] {
        var outside = FeaturePipeline.OutsideCategories()
        while let chunk = try reader.nextTable(maximumRows: chunkRows) {
            let (prices, chunkOutside) = try prices(chunk, name: reader.name, threads: threads)
            outside.merge(chunkOutside)
            try each(chunk, prices)
        }
        return outside.messages
    }

    /// A priced row as a line of its file's dialect: the row's fields as they were, then the
    /// price with two decimals, written with the file's decimal separator.
    public static func pricedLine(_ fields: [String], price: Double, dialect: CSVDialect) -> String {
        var price = String(format: "%.2f", price)
        if dialect.decimalSeparator == .comma { price = price.replacingOccurrences(of: ".", with: ",") }
        return CSVWriter.line(fields + [price], delimiter: dialect.delimiter)
    }

    /// The price of one house described as column name → cell text, as it would appear in a CSV
    /// (an empty text or a missing column the model does not need is fine; a missing column it
    /// needs is an error). `name` labels errors.
    public func predict(row: [String: String], name: String = "row") throws(HousePriceError) -> (price: Double, warnings: [String]) {
        let header = pipeline.columns.map(\.name)
        for column in header where row[column] == nil {
            throw .missingColumn(file: name, column: column, reason: "the model needs column \"\(column)\", which this row lacks")
        }
        let table = CSVTable(header: header, rows: [header.map { row[$0]! }], lines: [1])
        let (prices, warnings) = try predict(table, name: name, threads: 1)
        return (prices[0], warnings)
    }

    /// Metrics on the rows of `table` that have a target value (others are skipped with a warning).
    public func evaluate(_ table: CSVTable, name: String,
                         threads: Int = ExecutionContext.availableProcessors) throws(HousePriceError) -> (RegressionMetrics, [String]) {
        var reader = Evaluation(pipeline: pipeline)
        let (prices, outside) = try prices(table, name: name, threads: threads)
        try reader.add(table, prices: prices, name: name)
        return try reader.finish(outside: outside, name: name)
    }

    /// `evaluate` over a file read in chunks, in constant memory.
    public func evaluate(_ reader: inout CSVReader, threads: Int = ExecutionContext.availableProcessors) throws -> (RegressionMetrics, [String]) {
        var evaluation = Evaluation(pipeline: pipeline)
        var outside = FeaturePipeline.OutsideCategories()
        while let chunk = try reader.nextTable(maximumRows: chunkRows) {
            let (prices, chunkOutside) = try prices(chunk, name: reader.name, threads: threads)
            outside.merge(chunkOutside)
            try evaluation.add(chunk, prices: prices, name: reader.name)
        }
        return try evaluation.finish(outside: outside, name: reader.name)
    }

    /// Metrics accumulated over chunks of rows.
    private struct Evaluation {
        let pipeline: FeaturePipeline
        var metrics = RegressionMetrics.Accumulator()
        var skipped = 0

        mutating func add(_ table: CSVTable, prices: [Double], name: String) throws(HousePriceError) {
            let (targets, missingLines) = try FeaturePipeline.readTargets(table, name: name, target: pipeline.target, logTarget: false)
            for row in targets.keys.sorted() { metrics.add(predicted: prices[row], actual: targets[row]!) }
            skipped += missingLines.count
        }

        func finish(outside: FeaturePipeline.OutsideCategories, name: String) throws(HousePriceError) -> (RegressionMetrics, [String]) {
            guard let result = metrics.metrics else {
                throw .notEnoughData(file: name, reason: "no row has a \"\(pipeline.target)\" value to compare with")
            }
            var warnings = outside.messages
            if skipped > 0 { warnings.append("skipped \(skipped) row(s) without a \"\(pipeline.target)\" value") }
            return (result, warnings)
        }
    }
}
