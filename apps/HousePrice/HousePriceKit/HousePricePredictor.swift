import Backprop
import Foundation
import ModelFile
import TabularData

/// A trained price model, loaded from its file with its preprocessing.
public struct HousePricePredictor: Sendable {
    public let network: Network
    public let metadata: ModelMetadata
    public let pipeline: FeaturePipeline

    public init(contentsOf path: String) throws {
        let loaded: ModelFile.Loaded
        let pipeline: FeaturePipeline
        do {
            (loaded, pipeline) = try ModelFile.load(contentsOf: path, task: "house-price", preprocessing: FeaturePipeline.self)
        } catch {
            throw HousePriceError("\(path): \(error)")
        }
        guard loaded.network.inputShape == [pipeline.featureCount], loaded.network.outputShape == [1] else {
            throw HousePriceError("\(path): the network does not match its preprocessing (\(pipeline.featureCount) features)")
        }
        network = loaded.network
        metadata = loaded.metadata
        self.pipeline = pipeline
    }

    /// Predicted prices for every row of `table`, and warnings about unseen categories.
    public func predict(_ table: CSVTable, name: String,
                        threads: Int = ExecutionContext.availableProcessors) throws(HousePriceError) -> (prices: [Double], warnings: [String]) {
        let (inputs, warnings) = try pipeline.features(table, name: name, rows: Array(table.rows.indices))
        let outputs = network.predict(inputs, batchSize: 1024, threads: threads)
        return (outputs.scalars.map(pipeline.decodeTarget), warnings)
    }

    /// Metrics on the rows of `table` that have a target value (others are skipped with a warning).
    public func evaluate(_ table: CSVTable, name: String,
                         threads: Int = ExecutionContext.availableProcessors) throws(HousePriceError) -> (RegressionMetrics, [String]) {
        let (targets, missingLines) = try FeaturePipeline.readTargets(table, name: name, target: pipeline.target, logTarget: false)
        guard !targets.isEmpty else { throw HousePriceError("\(name): no row has a \"\(pipeline.target)\" value to compare with") }
        let (prices, warnings) = try predict(table, name: name, threads: threads)
        let rows = targets.keys.sorted()
        var allWarnings = warnings
        if !missingLines.isEmpty { allWarnings.append("skipped \(missingLines.count) row(s) without a \"\(pipeline.target)\" value") }
        return (RegressionMetrics(predicted: rows.map { prices[$0] }, actual: rows.map { targets[$0]! }), allWarnings)
    }
}
