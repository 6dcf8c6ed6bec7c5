import Backprop
import Foundation
import Reports
import StrictCSV

/// A price model's answers on rows with a known price, kept per row: what `evaluate` prints
/// (`metrics`) and what its HTML report plots, computed once.
public struct HousePriceEvaluation: Sendable {
    public let metrics: RegressionMetrics
    public let predicted: [Double]
    public let actual: [Double]
    /// How much the RMSE grows when one input column's values are shuffled among the rows, per
    /// column as the file names it, largest first (empty unless asked for).
    public let importance: [(column: String, rmseIncrease: Double)]
}

extension HousePricePredictor {
    /// Metrics, per-row prices and (with `importance`) permutation importance of every input
    /// column on the rows of `table` that have a target value.
    public func evaluateInDetail(_ table: CSVTable, name: String, importance: Bool,
                                 threads: Int = ExecutionContext.availableProcessors) throws(HousePriceError) -> (HousePriceEvaluation, [String]) {
        let (targets, missingLines) = try FeaturePipeline.readTargets(table, name: name, target: pipeline.target, logTarget: false)
        guard !targets.isEmpty else { throw .notEnoughData(file: name, reason: "no row has a \"\(pipeline.target)\" value to compare with") }
        let rows = targets.keys.sorted()
        let rowsTable = CSVTable(header: table.header, rows: rows.map { table.rows[$0] }, lines: rows.map { table.lines[$0] })
        let (predicted, warnings) = try predict(rowsTable, name: name, threads: threads)
        let actual = rows.map { targets[$0]! }
        let metrics = RegressionMetrics(predicted: predicted, actual: actual)
        var importances: [(String, Double)] = []
        if importance {
            // Every column the model reads, as the file names it: shuffled among the rows with a
            // fixed seed, so that the same file gives the same figures.
            var seen = Set<String>()
            let columns = (pipeline.columns.map(\.name) + pipeline.locations.flatMap { [$0.latitude, $0.longitude] })
                .filter { seen.insert($0).inserted }
            for column in columns {
                guard let index = rowsTable.column(column) else { continue }
                var random = RandomGenerator(seed: 7)
                var order = Array(rowsTable.rows.indices)
                order.shuffle(using: &random)
                var shuffled = rowsTable.rows
                for (row, source) in order.enumerated() { shuffled[row][index] = rowsTable.rows[source][index] }
                let (prices, _) = try predict(CSVTable(header: rowsTable.header, rows: shuffled, lines: rowsTable.lines),
                                              name: name, threads: threads)
                importances.append((column, RegressionMetrics(predicted: prices, actual: actual).rmse - metrics.rmse))
            }
        }
        var allWarnings = warnings
        if !missingLines.isEmpty { allWarnings.append("skipped \(missingLines.count) row(s) without a \"\(pipeline.target)\" value") }
        return (HousePriceEvaluation(metrics: metrics, predicted: predicted, actual: actual,
                                     importance: importances.sorted { $0.1 > $1.1 }), allWarnings)
    }
}

/// The HTML reports of `house-price evaluate --report` and `house-price train --report`.
public enum HousePriceReports {
    /// Points drawn at most in the predicted-against-actual chart (an even sample of the rows).
    public static let scatterLimit = 4000

    /// The evaluation report: RMSE, MAE, R², RMSLE; predicted against actual (log axes on
    /// request); the residuals' distribution; the error by price decile; permutation importance.
    public static func evaluation(_ evaluation: HousePriceEvaluation, target: String, model: String, data: String,
                                  logAxes: Bool) -> String {
        let metrics = evaluation.metrics
        var page = HTMLReport(title: "House-price model evaluation", subtitle: "\(model) on \(data)")
        page.headline([
            (key: "rmse", label: "RMSE", value: metrics.rmse, shown: money(metrics.rmse)),
            (key: "mae", label: "MAE", value: metrics.mae, shown: money(metrics.mae)),
            (key: "r2", label: "R²", value: metrics.r2, shown: String(format: "%.4f", metrics.r2)),
            (key: "rmsle", label: "RMSLE", value: metrics.rmsle, shown: String(format: "%.4f", metrics.rmsle)),
            (key: "count", label: "Rows", value: Double(metrics.count), shown: "\(metrics.count)"),
        ])
        let (actual, predicted) = (evaluation.actual, evaluation.predicted)
        let step = max(1, actual.count / scatterLimit)
        let sample = stride(from: 0, to: actual.count, by: step).map { (actual[$0], predicted[$0]) }
        let logarithmic = logAxes && actual.allSatisfy { $0 > 0 } && predicted.allSatisfy { $0 > 0 }
        let both = actual + predicted
        page.section("Predicted against actual")
        page.append(html: ScatterChart(
            name: "predicted-vs-actual", x: Axis("actual \(target)", fitting: both, logarithmic: logarithmic),
            y: Axis("predicted \(target)", fitting: both, logarithmic: logarithmic), points: sample, diagonal: true,
            caption: "Each point is a row (\(sample.count) of \(actual.count)\(step > 1 ? ", an even sample" : "")); the dashed line is a perfect prediction"
                + (logarithmic ? "; both axes logarithmic." : ".")).html)

        page.section("Residuals")
        let residuals = zip(predicted, actual).map { $0 - $1 }
        // Bins of a round width over the 1st to 99th percentile (a few far misses would otherwise
        // squeeze everything into two bars); rows beyond fall into the outer bins.
        let sorted = residuals.sorted()
        let (p1, p99) = (sorted[sorted.count / 100], sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
        let width = max(Axis.niceStep(p99 - p1) / 4, 1e-9)
        let first = floor(p1 / width)
        let bins = max(1, Int(ceil(p99 / width) - first))
        var counts = [Int](repeating: 0, count: bins)
        for residual in residuals { counts[min(bins - 1, max(0, Int(floor(residual / width) - first)))] += 1 }
        page.append(html: BarChart(
            name: "residuals", bars: counts.enumerated().map { (Axis.format((first + Double($0)) * width), Double($1)) },
            valueAxis: Axis("rows", fitting: counts.map(Double.init), includingZero: true),
            categoryLabel: "predicted − actual (\(target); each bar from its label to the next)",
            caption: "How far predictions fall from the actual price: rows per bin of the error (bins of \(Axis.format(width)); "
                + "the 1 % of rows beyond either end are counted in the outer bins).").html)

        page.section("Error by price decile")
        let order = actual.indices.sorted { actual[$0] < actual[$1] }
        let deciles = (0..<10).compactMap { decile -> (String, Double)? in
            let slice = order[(decile * order.count / 10)..<((decile + 1) * order.count / 10)]
            guard !slice.isEmpty else { return nil }
            let squared = slice.reduce(0.0) { $0 + pow(predicted[$1] - actual[$1], 2) } / Double(slice.count)
            return ("≤ \(Axis.format(actual[slice.last!]))", squared.squareRoot())
        }
        page.append(html: BarChart(
            name: "error-by-decile", bars: deciles, valueAxis: Axis("RMSE (\(target))", fitting: deciles.map(\.1), includingZero: true),
            categoryLabel: "decile of the actual price (its upper bound)",
            caption: "RMSE within each tenth of the rows, from the cheapest to the dearest.").html)

        if !evaluation.importance.isEmpty {
            page.section("Which columns matter", note: "Permutation importance: how much the RMSE grows when one column's values are shuffled among the rows.")
            page.append(html: BarChart(
                name: "importance", bars: evaluation.importance.map { ($0.column, $0.rmseIncrease) },
                valueAxis: Axis("RMSE increase (\(target))", fitting: evaluation.importance.map(\.rmseIncrease), includingZero: true),
                categoryLabel: "column", horizontal: true,
                caption: "RMSE with the column shuffled minus the RMSE as it is, per input column.").html)
        }
        return page.html
    }

    static func money(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = value < 100 ? 4 : 0
        formatter.locale = Locale(identifier: "en_US")
        return formatter.string(from: NSNumber(value: value)) ?? String(value)
    }

    /// The training report: per network, training and validation loss per epoch with its best
    /// epoch marked; the learning-rate schedule and seconds per epoch of the first network.
    /// `finished` false makes the page reload itself, so a run can be watched.
    public static func training(_ histories: [[EpochReport]], command: String, finished: Bool) -> String {
        var page = HTMLReport(title: "House-price training", subtitle: command, refreshSeconds: finished ? nil : 5)
        let epochs = histories.flatMap { $0 }
        guard let any = epochs.first else {
            page.paragraph("No epoch has finished yet.")
            return page.html
        }
        let bests = histories.map { history in history.filter(\.isBest).last }
        page.headline([(key: "networks", label: "Networks", value: Double(histories.count), shown: "\(histories.count)"),
                       (key: "epochs", label: "Epochs (most)", value: Double(histories.map(\.count).max() ?? 0), shown: "\(histories.map(\.count).max() ?? 0) of \(any.epochs)")]
                      + bests.enumerated().compactMap { index, best in
                          best.map { (key: "best_epoch_\(index + 1)", label: "Best epoch, network \(index + 1)", value: Double($0.epoch), shown: "\($0.epoch)") }
                      })
        let x = Axis.integers("epoch", from: 1, to: any.epochs)
        func chart(_ name: String, _ value: (EpochReport) -> Double?, label: String, caption: String, markBest: Bool) -> String {
            let series = histories.enumerated().map { index, history in
                LineChart.Series("network \(index + 1)", points: history.compactMap { report in value(report).map { (Double(report.epoch), $0) } })
            }
            let markers = markBest ? bests.enumerated().compactMap { index, best in best.map { (x: Double($0.epoch), label: "best \(index + 1)") } } : []
            return LineChart(name: name, x: x, y: Axis(label, fitting: series.flatMap { $0.points.map(\.y) }, includingZero: true),
                             series: series, markers: markers, caption: caption).html
        }
        page.section("Loss")
        page.append(html: chart("training-loss", { $0.trainingLoss }, label: "mean squared error (standardised target)",
                                caption: "Training loss per epoch, one line per network of the ensemble.", markBest: false))
        if epochs.contains(where: { $0.validationLoss != nil }) {
            page.append(html: chart("validation-loss", { $0.validationLoss }, label: "mean squared error (standardised target)",
                                    caption: "Validation loss per epoch, one line per network; each network keeps its best epoch (marked).",
                                    markBest: true))
        }
        page.section("Schedule and speed", note: "Of network 1; the others follow the same schedule.")
        let first = histories[0]
        page.append(html: LineChart(name: "learning-rate", x: x, y: Axis("learning rate", fitting: first.map { Double($0.learningRate) }, includingZero: true),
                                    series: [.init("learning rate", points: first.map { (Double($0.epoch), Double($0.learningRate)) })],
                                    caption: "The learning rate at the end of each epoch (cosine schedule with warm-up).").html)
        page.append(html: BarChart(name: "seconds", bars: first.map { ("\($0.epoch)", $0.seconds) },
                                   valueAxis: Axis("seconds", fitting: first.map(\.seconds), includingZero: true),
                                   categoryLabel: "epoch", caption: "Wall time of each epoch of network 1, validation included.").html)
        return page.html
    }
}
