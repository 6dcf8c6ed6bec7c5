import Backprop
import Foundation
import HousePriceKit
import ModelFile
import Testing

/// House-price model files crafted by a stranger: `predict`, `evaluate` and `inspect` refuse them
/// with one line naming the file and exit status 1, never a trap or a NaN price.
@Suite("Crafted house-price model files")
struct CraftedHousePriceModelTests {
    let rows = """
    longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,median_house_value,ocean_proximity
    -122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0,NEAR BAY

    """

    /// The shipped model with the preprocessing's first column of `kind` changed by `change`.
    func crafted(kind: String, _ change: (inout [String: Any]) -> Void) throws -> String {
        var file = try SafeTensorsFile.decode(try FileIO.contents(of: repositoryRoot + "/data/models/house-price.safetensors"))
        let index = file.metadata.firstIndex { $0.key == "preprocessing" }!
        var pipeline = try JSONSerialization.jsonObject(with: Data(file.metadata[index].value.utf8)) as! [String: Any]
        var columns = pipeline["columns"] as! [[String: Any]]
        let column = columns.firstIndex { $0["kind"] as? String == kind }!
        change(&columns[column])
        pipeline["columns"] = columns
        file.metadata[index].value = String(decoding: try JSONSerialization.data(withJSONObject: pipeline), as: UTF8.self)
        let path = temporaryDirectory() + "/crafted.safetensors"
        try FileIO.writeAtomically(file.encoded(), to: path)
        return path
    }

    @Test("Missing statistics, zero or negative deviations, bad bin edges and categories are refused by every command")
    func refused() throws {
        let directory = temporaryDirectory()
        write(rows, to: directory + "/rows.csv")
        let cases: [(String, String, (inout [String: Any]) -> Void)] = [
            ("numeric", "mean", { $0.removeValue(forKey: "mean") }),
            ("numeric", "deviation", { $0.removeValue(forKey: "deviation") }),
            ("numeric", "median", { $0.removeValue(forKey: "median") }),
            ("numeric", "deviation must be a finite number above 0", { $0["deviation"] = 0 }),
            ("numeric", "deviation must be a finite number above 0", { $0["deviation"] = -3 }),
            ("numeric", "strictly increasing", { $0["binEdges"] = [3, 1, 2, 4] }),
            ("numeric", "strictly increasing", { $0["binEdges"] = [1, 1, 2, 4] }),
            ("numeric", "does not match its preprocessing", { $0["binEdges"] = [Double]() }),
            ("categorical", "categories", { $0.removeValue(forKey: "categories") }),
            ("categorical", "sorted and unique", { $0["categories"] = ["b", "a"] }),
            ("categorical", "sorted and unique", { $0["categories"] = ["a", "a"] }),
        ]
        for (kind, reason, change) in cases {
            let model = try crafted(kind: kind, change)
            for command in [["predict", directory + "/rows.csv", "--model", model], ["evaluate", directory + "/rows.csv", "--model", model]] {
                let run = try runHousePrice(command)
                #expect(run.status == 1, "\(reason): \(command[0]) exited \(run.status): \(run.stderr)")
                #expect(run.stdout.isEmpty)
                #expect(run.stderr.hasPrefix("Error: \(model): ") && run.stderr.contains(reason)
                        && run.stderr.split(separator: "\n").count == 1, "\(reason): \(run.stderr)")
            }
        }
    }

    @Test("A model declaring a million features prices a row with bounded memory, not 32 GB")
    func millionFeatures() throws {
        let directory = temporaryDirectory()
        let features = 1_000_000
        let layers: [LayerSpec] = [.dense(inputSize: features, outputSize: 1)]
        let network = try Network(inputShape: [features], layers: layers,
                                  weights: Network.Weights(parameters: [Tensor(shape: [1, features], scalars: [Float](repeating: 0, count: features)),
                                                                        Tensor(shape: [1], scalars: [1])], buffers: []))
        // Ten categorical columns of 99,999 categories and an "other" each make up the million features.
        let categories = (0..<99_999).map { String(format: "c%07d", $0) }
        let pipeline = FeaturePipeline(target: "price", logTarget: false, targetMean: 100, targetDeviation: 10,
                                       columns: (0..<10).map { PipelineColumn(name: "kind\($0)", encoding: .categorical(categories: categories)) },
                                       dropped: [])
        #expect(pipeline.featureCount == features)
        let metadata = ModelMetadata(task: "house-price", inputShape: [features], layers: layers,
                                     preprocessing: try MetadataJSON.encode(pipeline),
                                     provenance: Provenance(seed: 1, epochs: 1, dataSHA256: "", command: "test"))
        try ModelFile.save(network, metadata: metadata, to: directory + "/wide.safetensors")
        let header = (0..<10).map { "kind\($0)" }.joined(separator: ",")
        write(header + "\n" + (0..<300).map { row in (0..<10).map { _ in "c\(String(format: "%07d", row))" }.joined(separator: ",") + "\n" }.joined(),
              to: directory + "/rows.csv")
        let run = try runHousePrice(["predict", directory + "/rows.csv", "--model", directory + "/wide.safetensors", "--output", directory + "/out.csv"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: directory + "/out.csv", encoding: .utf8).split(separator: "\n").dropFirst()
                .allSatisfy { $0.hasSuffix(",110.00") })
    }
}
