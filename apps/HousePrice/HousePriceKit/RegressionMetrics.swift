import Foundation

/// Errors of price predictions, in the target's own units (dollars for California).
public struct RegressionMetrics: Codable, Equatable, Sendable {
    public let count: Int
    /// Root mean squared error.
    public let rmse: Double
    /// Mean absolute error.
    public let mae: Double
    /// Coefficient of determination: 1 − SSE / total sum of squares around the mean.
    public let r2: Double
    /// RMSE of log(1 + price), the usual house-price leaderboard metric (predictions below 0
    /// count as 0).
    public let rmsle: Double

    public init(predicted: [Double], actual: [Double]) {
        precondition(predicted.count == actual.count && !actual.isEmpty, "RegressionMetrics: need matching, non-empty arrays")
        var accumulator = Accumulator()
        for (p, y) in zip(predicted, actual) { accumulator.add(predicted: p, actual: y) }
        self = accumulator.metrics!
    }

    init(count: Int, rmse: Double, mae: Double, r2: Double, rmsle: Double) {
        (self.count, self.rmse, self.mae, self.r2, self.rmsle) = (count, rmse, mae, r2, rmsle)
    }

    /// The metrics of predictions that arrive one at a time, in constant memory: the actual
    /// values' spread is kept with Welford's update, so no second pass is needed.
    public struct Accumulator: Sendable {
        private var count = 0
        private var squared = 0.0, absolute = 0.0, logSquared = 0.0
        private var mean = 0.0, spread = 0.0   // running mean and sum of squared deviations of the actual values

        public init() {}

        public mutating func add(predicted p: Double, actual y: Double) {
            count += 1
            squared += (p - y) * (p - y)
            absolute += abs(p - y)
            let logError = log1p(max(0, p)) - log1p(max(0, y))
            logSquared += logError * logError
            let delta = y - mean
            mean += delta / Double(count)
            spread += delta * (y - mean)
        }

        /// Nil before the first prediction.
        public var metrics: RegressionMetrics? {
            guard count > 0 else { return nil }
            let n = Double(count)
            return RegressionMetrics(count: count, rmse: (squared / n).squareRoot(), mae: absolute / n,
                                     r2: spread > 0 ? 1 - squared / spread : 0, rmsle: (logSquared / n).squareRoot())
        }
    }

    /// One line: "RMSE 47,800  MAE 31,200  R² 0.826  RMSLE 0.236 (4128 rows)".
    public var formatted: String {
        "RMSE \(RegressionMetrics.grouped(rmse))  MAE \(RegressionMetrics.grouped(mae))  "
            + String(format: "R² %.4f  RMSLE %.4f", r2, rmsle) + "  (\(count) rows)"
    }

    static func grouped(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = value < 100 ? 4 : 0
        formatter.locale = Locale(identifier: "en_US")
        return formatter.string(from: NSNumber(value: value)) ?? String(value)
    }
}
