import Foundation
import Testing
import TestSupport

/// `--report` of both tools, as a reader opens them: each report's numbers are the JSON's of the
/// same run, and in headless Chromium every chart, caption and gallery is there (screenshots in
/// `artifacts/screenshots/`).
@Suite("HTML reports", .serialized)
struct ReportTests {
    func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// The `data-value` of headline `key` in a report.
    func headline(_ html: String, _ key: String) -> Double? {
        guard let match = html.firstMatch(of: try! Regex("data-key=\"\(key)\" data-value=\"([^\"]+)\"")) else { return nil }
        return Double(String(match.output[1].substring!))
    }

    @Test("Evaluation and training reports of both tools: the headline numbers are the JSON's, and they open cleanly in Chromium",
          .enabled(if: mnistPresent && californiaPresent, "MNIST or California housing is missing: run data/fetch"))
    func reports() throws {
        let directory = temporaryDirectory()
        let digitsEvaluation = try runTool("digits", ["evaluate", "--model", "data/models/digits.safetensors", "--json",
                                                      "--report", directory + "/digits-evaluation.html"])
        #expect(digitsEvaluation.status == 0, "\(digitsEvaluation.stderr)")
        let digits = json(digitsEvaluation.stdout)
        let digitsHTML = try String(contentsOfFile: directory + "/digits-evaluation.html", encoding: .utf8)
        #expect(headline(digitsHTML, "accuracy") == digits["accuracy"] as? Double)
        #expect(headline(digitsHTML, "count") == 10_000)
        let errors = 10_000 - ((digits["confusion"] as? [[Int]]) ?? []).enumerated().reduce(0) { $0 + $1.element[$1.offset] }
        #expect(digitsHTML.contains("data-gallery=\"misclassified\" data-count=\"\(min(errors, 200))\""))
        let size = try FileManager.default.attributesOfItem(atPath: directory + "/digits-evaluation.html")[.size] as! Int
        #expect(size < 3 << 20, "\(size) bytes")

        let houses = repositoryRoot + "/data/california-housing/housing.csv"
        let houseEvaluation = try runTool("house-price", ["evaluate", houses, "--model", "data/models/house-price.safetensors", "--json",
                                                          "--report", directory + "/house-price-evaluation.html"])
        #expect(houseEvaluation.status == 0, "\(houseEvaluation.stderr)")
        let house = json(houseEvaluation.stdout)
        let houseHTML = try String(contentsOfFile: directory + "/house-price-evaluation.html", encoding: .utf8)
        for key in ["rmse", "mae", "r2", "rmsle", "count"] {
            // The same Double; Foundation's JSON text and Swift's may differ in the 17th digit.
            let (shown, printed) = (headline(houseHTML, key) ?? .nan, (house[key] as? NSNumber)?.doubleValue ?? .nan)
            #expect(abs(shown - printed) <= 1e-15 * max(1, abs(printed)), "\(key): \(shown) vs \(printed)")
        }

        // Training reports from short runs.
        let images = temporaryDirectory()
        _ = try writeDigitFolder(to: images)
        let digitsTraining = try runTool("digits", ["train", "--images", images, "--epochs", "3", "--batch-size", "16",
                                                    "--output", directory + "/d.safetensors", "--report", directory + "/digits-training.html"])
        #expect(digitsTraining.status == 0, "\(digitsTraining.stderr)")
        let sales = directory + "/sales.csv"
        try FileManager.default.copyItem(atPath: houses, toPath: sales)
        let houseTraining = try runTool("house-price", ["train", sales, "--target", "median_house_value", "--epochs", "8", "--ensemble", "2",
                                                        "--output", directory + "/h.safetensors", "--report", directory + "/house-price-training.html"])
        #expect(houseTraining.status == 0, "\(houseTraining.stderr)")
        let trainingHTML = try String(contentsOfFile: directory + "/digits-training.html", encoding: .utf8)
        #expect(!trainingHTML.contains("http-equiv=\"refresh\""), "a finished run's report must not reload itself")

        guard ServingTests.browserPresent else { return }
        let specification: [[String: Any]] = [
            ["file": directory + "/digits-evaluation.html", "name": "report-digits-evaluation",
             "charts": ["per-class", "confusion", "reliability"],
             "headline": ["accuracy": digits["accuracy"]!, "count": 10_000],
             "galleries": ["misclassified": min(errors, 200), "least-confident": 24]],
            ["file": directory + "/house-price-evaluation.html", "name": "report-house-price-evaluation",
             "charts": ["predicted-vs-actual", "residuals", "error-by-decile", "importance"],
             "headline": ["rmse": house["rmse"]!, "mae": house["mae"]!, "r2": house["r2"]!, "rmsle": house["rmsle"]!, "count": house["count"]!]],
            ["file": directory + "/digits-training.html", "name": "report-digits-training",
             "charts": ["loss", "accuracy", "learning-rate", "seconds"], "headline": ["epochs": 3]],
            ["file": directory + "/house-price-training.html", "name": "report-house-price-training",
             "charts": ["training-loss", "validation-loss", "learning-rate", "seconds"], "headline": ["networks": 2]],
        ]
        let specPath = directory + "/reports.json"
        try JSONSerialization.data(withJSONObject: specification).write(to: URL(fileURLWithPath: specPath))
        let (status, text) = try runPython("Tests/browser/check_reports.py", [repositoryRoot + "/artifacts/screenshots", specPath])
        print(text)
        #expect(status == 0, "\(text)")
        #expect(text.contains("reports: all open cleanly"), "\(text)")
    }

    /// A small labelled folder: the sample PNGs, in one sub-folder per label, several times over.
    func writeDigitFolder(to directory: String) throws -> Int {
        var count = 0
        for copy in 0..<6 {
            for name in try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/data/samples") {
                let folder = directory + "/" + name.split(separator: "-")[1]
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: repositoryRoot + "/data/samples/" + name, toPath: folder + "/\(copy)-" + name)
                count += 1
            }
        }
        return count
    }
}
