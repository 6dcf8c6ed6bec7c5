import Foundation
import Testing
import HousePriceKit
import StrictCSV
import Backprop

@Suite("Feature pipeline")
struct PipelineTests {
    private func fit(_ csv: String, target: String = "price", drop: [String] = [], log: Bool = false,
                     rows: [Int]? = nil) throws -> (FeaturePipeline, [String], CSVTable) {
        let t = try table(csv)
        let (targets, _) = try FeaturePipeline.readTargets(t, name: "t.csv", target: target, logTarget: log)
        let (pipeline, warnings) = try FeaturePipeline.fit(t, name: "t.csv", target: target, drop: drop, logTarget: log,
                                                           trainingRows: rows ?? targets.keys.sorted(), targets: targets)
        return (pipeline, warnings, t)
    }

    @Test("Types are inferred; NA and empty mean missing; medians, indicators and one-hot come from training rows")
    func inference() throws {
        let csv = "id,area,kind,price\n1,100,a,10\n2,NA,b,20\n3,300,a,30\n4,,c,40\n5,500,NA,50\n"
        let (pipeline, _, t) = try fit(csv, drop: ["id"], rows: [0, 1, 2, 3])
        #expect(pipeline.columns.map(\.name) == ["area", "kind"])
        let area = pipeline.columns[0], kind = pipeline.columns[1]
        #expect(area.kind == .numeric && area.median == 200 && area.missingIndicator == true)
        #expect(kind.kind == .categorical && kind.categories == ["a", "b", "c"])   // row 4 ("NA") was not a training row
        let (features, warnings) = try pipeline.features(t, name: "t.csv", rows: [1, 4])
        #expect(features.shape == [2, pipeline.featureCount])
        #expect(pipeline.featureCount == 2 + 4)   // value + indicator; a, b, c + unknown
        // Row 1: area missing → median (standardised), indicator 1; kind "b".
        let row1 = Array(features.scalars[0..<6])
        #expect(row1[1] == 1 && row1[2...] == [0, 1, 0, 0])
        // Row 4: category missing was never seen in training → the unknown bucket, with a warning.
        #expect(Array(features.scalars[6..<12])[2...] == [0, 0, 0, 1])
        #expect(warnings.count == 1 && warnings[0].contains("\"kind\""))
    }

    @Test("A stray word in a numeric column is an error naming line, column and value, not a category")
    func badNumber() throws {
        var csv = "area,price\n"
        for i in 0..<40 { csv += "\(100 + i),\(i)\n" }
        csv += "12O0,41\n"
        expectError("t.csv:42: column \"area\": \"12O0\" is not a number (40 of the column's 41 training values are)") {
            try fit(csv)
        }
        expectError("t.csv:2: column \"area\": \"1e400\" overflows a 64-bit float") {
            try fit("area,price\n1e400,1\n" + (0..<30).map { "\($0),\($0)\n" }.joined())
        }
        // "inf" is not a decimal number: in a numeric column it is an error too.
        #expect(throws: HousePriceError.self) { try fit("area,price\ninf,1\n" + (0..<30).map { "\($0),\($0)\n" }.joined()) }
    }

    @Test("Target problems: missing column, unparsable, non-positive with a log target, missing values skipped")
    func targets() throws {
        expectError("t.csv: no target column \"price\" (columns: a, b)") { try fit("a,b\n1,2\n") }
        expectError("t.csv:3: target \"price\": \"cheap\" is not a number") { try fit("a,price\n1,2\n2,cheap\n") }
        #expect(throws: HousePriceError.badValue(file: "t.csv", line: 2, field: .target("price"), value: "0",
                                                 reason: "0 is not above 0, which --log-target needs")) {
            try fit("a,price\n1,0\n", log: true)
        }
        let (values, missing) = try FeaturePipeline.readTargets(try table("a,price\n1,2\n2,\n3,NA\n4,5\n"), name: "t.csv",
                                                                 target: "price", logTarget: false)
        #expect(values == [0: 2, 3: 5] && missing == [3, 4])
    }

    @Test("A column the model needs is missing from a file: error naming it")
    func missingColumn() throws {
        let (pipeline, _, _) = try fit("area,kind,price\n1,a,1\n2,b,2\n")
        expectError("new.csv: the model needs column \"kind\", which this file lacks") {
            _ = try pipeline.features(try table("area\n5\n"), name: "new.csv", rows: [0])
        }
    }

    @Test("Piecewise-linear quantile encoding: 0 below a bin, 1 above, linear inside")
    func quantileBins() throws {
        var csv = "x,price\n"
        for i in 0..<100 { csv += "\(i),\(i)\n" }
        let (pipeline, _, t) = try fit(csv)
        let edges = try #require(pipeline.columns[0].binEdges)
        #expect(edges.count == FeaturePipeline.defaultBins + 1 && edges.first == 0 && edges.last == 99)
        let (features, _) = try pipeline.features(t, name: "t.csv", rows: [50])
        let bins = Array(features.scalars.dropFirst())
        let inside = bins.firstIndex { $0 > 0 && $0 < 1 } ?? bins.firstIndex { $0 == 0 }!
        #expect(bins[..<inside].allSatisfy { $0 == 1 } && bins[(inside + 1)...].allSatisfy { $0 == 0 })
    }

    @Test("High-cardinality text columns keep their most frequent categories, with a warning")
    func cardinality() throws {
        var csv = "street,price\n"
        for i in 0..<200 { csv += "Street \(i % 100),\(i)\n" }
        let (pipeline, warnings, _) = try fit(csv)
        #expect(pipeline.columns[0].categories?.count == FeaturePipeline.maximumCategories)
        #expect(warnings.contains { $0.contains("100 categories") })
    }

    @Test("Metrics: RMSE, MAE, R², RMSLE")
    func metrics() {
        let metrics = RegressionMetrics(predicted: [110, 190, 300], actual: [100, 200, 300])
        #expect(abs(metrics.rmse - (200.0 / 3).squareRoot()) < 1e-9)
        #expect(abs(metrics.mae - 20.0 / 3) < 1e-9)
        #expect(abs(metrics.r2 - (1 - 200.0 / 20000)) < 1e-9)
        let expected = ((pow(log(111.0 / 101), 2) + pow(log(191.0 / 201), 2)) / 3).squareRoot()
        #expect(abs(metrics.rmsle - expected) < 1e-9)
    }
}
