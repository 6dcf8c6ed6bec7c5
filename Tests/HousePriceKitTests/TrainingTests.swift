import Foundation
import Testing
import HousePriceKit
import ModelFile
import StrictCSV
import Backprop

@Suite("House-price training", .serialized)
struct HousePriceTrainingTests {
    @Test("An ensemble merged into one network predicts exactly the mean of its members")
    func ensembleMerge() throws {
        var random = RandomGenerator(seed: 4)
        let members = try (0..<3).map { _ in
            var member = try Network(inputShape: [5], layers: HousePriceTraining.layers(features: 5, hidden: [7, 6], dropout: 0.1),
                                     random: &random)
            var weights = member.weights
            for (index, name) in member.parameterNames.enumerated() where name.hasSuffix("bias") {
                weights.parameters[index] = Tensor(shape: weights.parameters[index].shape,
                                                   scalars: (0..<weights.parameters[index].count).map { _ in random.uniform(-1, 1) })
            }
            member.setWeights(weights)
            return member
        }
        let merged = try EnsembleMerger.merge(members, hidden: [7, 6], dropout: 0.1)
        let input = Tensor(shape: [4, 5], scalars: (0..<20).map { _ in random.uniform(-2, 2) })
        let mean = members.map { $0.predict(input).scalars }.reduce([Float](repeating: 0, count: 4)) { zip($0, $1).map(+) }.map { $0 / 3 }
        let outputs = merged.predict(input).scalars
        #expect(zip(mean, outputs).allSatisfy { abs($0 - $1) < 1e-5 }, "\(mean) vs \(outputs)")
    }

    @Test("Save, load and predict equals the in-process model, on a made-up schema where --log-target fits")
    func roundTripOnOtherSchema() throws {
        let directory = temporaryDirectory()
        write(syntheticSales(rows: 600, seed: 1), to: directory + "/train.csv")
        write(syntheticSales(rows: 200, seed: 2), to: directory + "/test.csv")
        var options = HousePriceOptions(target: "SalePrice")
        options.drop = ["Id"]
        options.logTarget = true
        options.epochs = 60
        options.ensemble = 2
        let outcome = try HousePriceTraining.run(csv: directory + "/train.csv", options: options,
                                                 output: directory + "/model.safetensors", threads: 2, resume: false, command: "test")
        #expect(outcome.pipeline.columns.map(\.name) == ["Neighborhood", "OverallQual", "GrLivArea", "GarageType", "LotFrontage", "Street"])
        #expect(outcome.pipeline.columns.first { $0.name == "LotFrontage" }?.scale?.missingIndicator == true)
        #expect(outcome.pipeline.columns.first { $0.name == "GarageType" }?.categories?.contains("(missing)") == true)
        let predictor = try HousePricePredictor(contentsOf: directory + "/model.safetensors")
        let test = try readCSV(directory + "/test.csv")
        let (metrics, _) = try predictor.evaluate(test, name: "test.csv")
        // The noise is 5 % in log space; a good fit gets close to it.
        #expect(metrics.rmsle < 0.1, "RMSLE \(metrics.rmsle)")
        // The same model, trained in process, predicts the same prices as the one loaded from disk.
        let (inputs, _) = try outcome.pipeline.features(test, name: "test.csv", rows: Array(test.rows.indices))
        let inProcess = try Network(inputShape: outcome.metadata.inputShape, layers: outcome.metadata.layers,
                                    weights: try ModelFile.load(contentsOf: directory + "/model.safetensors").network.weights)
        let direct = inProcess.predict(inputs).scalars.map(outcome.pipeline.decodeTarget)
        let (loaded, _) = try predictor.predict(test, name: "test.csv")
        #expect(direct == loaded)

        // Streamed in chunks, a file longer than two chunks gets the prices of the whole file at
        // once, bit for bit, and the same metrics.
        write(syntheticSales(rows: 2 * HousePricePredictor.chunkRows + 777, seed: 5), to: directory + "/big.csv")
        let big = try readCSV(directory + "/big.csv")
        let (whole, _) = try predictor.predict(big, name: "big.csv")
        var reader = try CSVReader(name: "big.csv", source: try CSVFileSource(path: directory + "/big.csv"))
        var streamed: [Double] = []
        var chunks = 0
        _ = try predictor.predict(&reader, threads: 2) { _, prices in
            streamed += prices
            chunks += 1
        }
        #expect(chunks == 3 && streamed == whole)
        var evaluationReader = try CSVReader(name: "big.csv", source: try CSVFileSource(path: directory + "/big.csv"))
        let (streamedMetrics, _) = try predictor.evaluate(&evaluationReader)
        let (wholeMetrics, _) = try predictor.evaluate(big, name: "big.csv")
        #expect(streamedMetrics == wholeMetrics)
    }

    @Test("Too few rows, header-only and empty files are clear errors")
    func tooLittleData() throws {
        let directory = temporaryDirectory()
        write("a,price\n1,2\n3,4\n", to: directory + "/few.csv")
        write("a,price\n", to: directory + "/header.csv")
        write("", to: directory + "/empty.csv")
        for (file, message) in [("few.csv", "2 row(s) with a target value; training needs at least 20"),
                                ("header.csv", "has a header but no data rows"), ("empty.csv", "the file is empty")] {
            let error = #expect(throws: HousePriceError.self) {
                try HousePriceTraining.run(csv: directory + "/" + file, options: HousePriceOptions(target: "price"),
                                           output: directory + "/m.safetensors", threads: 1, resume: false, command: "")
            }
            #expect(error?.description.contains(message) == true, "\(String(describing: error))")
            #expect(!FileManager.default.fileExists(atPath: directory + "/m.safetensors"))
        }
    }

    @Test("California, seeded 80/20 split, default options: RMSE at most $50,000",
          .enabled(if: californiaPresent, "California housing is not in data/california-housing: run data/fetch"))
    func californiaAccuracy() throws {
        let path = repositoryRoot + "/data/california-housing/housing.csv"
        let table = try readCSV(path)
        var random = RandomGenerator(seed: 42)
        var rows = Array(table.rows.indices)
        rows.shuffle(using: &random)
        let testCount = table.rows.count / 5
        let directory = temporaryDirectory()
        let header = CSVWriter.line(table.header)
        write(header + rows[testCount...].map { CSVWriter.line(table.rows[$0]) }.joined(), to: directory + "/train.csv")
        write(header + rows[..<testCount].map { CSVWriter.line(table.rows[$0]) }.joined(), to: directory + "/test.csv")
        _ = try HousePriceTraining.run(csv: directory + "/train.csv", options: HousePriceOptions(target: "median_house_value"),
                                       output: directory + "/model.safetensors", threads: 2, resume: false, command: "test")
        let (metrics, _) = try HousePricePredictor(contentsOf: directory + "/model.safetensors")
            .evaluate(try readCSV(directory + "/test.csv"), name: "test.csv")
        #expect(metrics.count == testCount)
        #expect(metrics.rmse <= 50_000, "RMSE \(metrics.rmse)")
    }
}
