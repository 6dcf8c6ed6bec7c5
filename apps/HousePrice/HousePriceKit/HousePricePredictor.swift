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
        let loaded: ModelFile.Loaded
        let pipeline: FeaturePipeline
        do {
            (loaded, pipeline) = try ModelFile.load(contentsOf: path, task: "house-price", preprocessing: FeaturePipeline.self)
        } catch {
            throw .invalidModel(file: path, reason: "\(error)")
        }
        try self.init(network: loaded.network, metadata: loaded.metadata, pipeline: pipeline, name: path)
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

    /// Predicted prices for every row of `table`, and warnings about unseen categories.
    public func predict(_ table: CSVTable, name: String,
                        threads: Int = ExecutionContext.availableProcessors) throws(HousePriceError) -> (prices: [Double], warnings: [String]) {
        let (inputs, warnings) = try pipeline.features(table, name: name, rows: Array(table.rows.indices))
        let outputs = network.predict(inputs, batchSize: 1024, threads: threads)
        return (outputs.scalars.map(pipeline.decodeTarget), warnings)
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
        let (targets, missingLines) = try FeaturePipeline.readTargets(table, name: name, target: pipeline.target, logTarget: false)
        guard !targets.isEmpty else { throw .notEnoughData(file: name, reason: "no row has a \"\(pipeline.target)\" value to compare with") }
        let (prices, warnings) = try predict(table, name: name, threads: threads)
        let rows = targets.keys.sorted()
        var allWarnings = warnings
        if !missingLines.isEmpty { allWarnings.append("skipped \(missingLines.count) row(s) without a \"\(pipeline.target)\" value") }
        return (RegressionMetrics(predicted: rows.map { prices[$0] }, actual: rows.map { targets[$0]! }), allWarnings)
    }
}
