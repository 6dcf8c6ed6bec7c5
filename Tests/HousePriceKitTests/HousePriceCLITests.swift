import Backprop
import Foundation
import Testing
import ModelFile
import StrictCSV

@discardableResult
func runHousePrice(_ arguments: [String], interruptAfter marker: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    try runTool("house-price", arguments, interruptAfter: marker)
}

@Suite("house-price command line", .serialized)
struct HousePriceCLITests {
    /// The first rows of a California-like file, written by hand so the test needs no data.
    let sample = """
    longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,median_house_value,ocean_proximity
    -122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0,NEAR BAY
    -122.22,37.86,21.0,7099.0,,2401.0,1138.0,8.3014,358500.0,NEAR BAY
    -118.3,34.1,30.0,2000.0,400.0,1200.0,380.0,3.1,,<1H OCEAN
    -117.1,32.7,15.0,1500.0,300.0,900.0,280.0,2.5,180000.0,ON THE MOON
    """

    @Test("predict writes every row back with a predicted_ column; the target may be absent")
    func predict() throws {
        let directory = temporaryDirectory()
        write(sample, to: directory + "/houses.csv")
        let result = try runHousePrice(["predict", directory + "/houses.csv"])
        #expect(result.status == 0, "\(result.stderr)")
        let table = try CSVTable.parse(Array(result.stdout.utf8), name: "out")
        #expect(table.header.last == "predicted_median_house_value")
        #expect(table.rows.count == 4)
        #expect(table.rows.allSatisfy { Double($0.last!)! > 10_000 && Double($0.last!)! < 1_000_000 })
        #expect(result.stderr.contains("ON THE MOON"), "unseen category warning: \(result.stderr)")
        // Without the target column, and to a file.
        let noTarget = sample.split(separator: "\n").map { line in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false)
            fields.remove(at: 8)
            return fields.joined(separator: ",")
        }.joined(separator: "\n")
        write(noTarget, to: directory + "/no-target.csv")
        let toFile = try runHousePrice(["predict", directory + "/no-target.csv", "--output", directory + "/out.csv"])
        #expect(toFile.status == 0, "\(toFile.stderr)")
        #expect(try CSVTable.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/out.csv"))), name: "o").rows.count == 4)
    }

    @Test("A European spreadsheet's CSV is priced like its twin and written back in its dialect; --delimiter and --decimal override")
    func europeanDialect() throws {
        let directory = temporaryDirectory()
        // An income with three decimals reads two ways once its point is a comma (8,325: 8.325 or 8325).
        let sample = self.sample.replacingOccurrences(of: "8.3252", with: "8.325")
        write(sample, to: directory + "/houses.csv")
        // The same rows with semicolons and decimal commas.
        let european = sample.split(separator: "\n").map { line in
            line.replacingOccurrences(of: ",", with: ";").replacingOccurrences(of: ".", with: ",")
        }.joined(separator: "\n")
        write(european, to: directory + "/maisons.csv")
        let us = try runHousePrice(["predict", directory + "/houses.csv"])
        let eu = try runHousePrice(["predict", directory + "/maisons.csv"])
        #expect(us.status == 0 && eu.status == 0, "\(us.stderr) \(eu.stderr)")
        let usTable = try CSVTable.parse(Array(us.stdout.utf8), name: "us")
        let euTable = try CSVTable.parse(Array(eu.stdout.utf8), name: "eu")
        #expect(euTable.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma))
        #expect(euTable.rows.map { Array($0.dropLast()) } == european.split(separator: "\n").dropFirst().map {
            $0.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        })
        #expect(euTable.rows.map { $0.last!.replacingOccurrences(of: ",", with: ".") } == usTable.rows.map { $0.last! })
        let metrics = try runHousePrice(["evaluate", directory + "/maisons.csv", "--json"])
        #expect(metrics.stdout == (try runHousePrice(["evaluate", directory + "/houses.csv", "--json"])).stdout)
        // Told otherwise, the tool reads it otherwise: commas between fields, or 8,325 as 8325.
        let commas = try runHousePrice(["evaluate", directory + "/maisons.csv", "--delimiter", "comma"])
        #expect(commas.status != 0 && commas.stderr.contains("fields, but the header has 1"), "\(commas.stderr)")
        let points = try runHousePrice(["evaluate", directory + "/maisons.csv", "--decimal", "point", "--json"])
        #expect(points.status == 0 && points.stdout != metrics.stdout, "\(points.stderr)")
        // Training says how it read such a file, and nothing for a comma file.
        let rows = (0..<40).map { "\($0);\($0 % 7),5;\(1_000 + 37 * $0),25" }
        write("a;b;price\n" + rows.joined(separator: "\n") + "\n", to: directory + "/ventes.csv")
        write("a,b,price\n" + rows.map { $0.replacingOccurrences(of: ",", with: ".").replacingOccurrences(of: ";", with: ",") }
                .joined(separator: "\n") + "\n", to: directory + "/sales.csv")
        for (file, said) in [("ventes.csv", true), ("sales.csv", false)] {
            let train = try runHousePrice(["train", directory + "/" + file, "--target", "price", "--epochs", "2", "--ensemble", "1",
                                           "--output", directory + "/m.safetensors"])
            #expect(train.status == 0, "\(train.stderr)")
            #expect(train.stderr.contains("is read with fields separated by ';', decimal commas, UTF-8 text") == said, "\(train.stderr)")
        }
    }

    @Test("evaluate --json prints count, rmse, mae, r2, rmsle")
    func evaluate() throws {
        let directory = temporaryDirectory()
        write(sample, to: directory + "/houses.csv")
        let result = try runHousePrice(["evaluate", directory + "/houses.csv", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(object.keys.sorted() == ["count", "mae", "r2", "rmse", "rmsle"])
        #expect(object["count"] as? Int == 3)   // the row without a target is skipped
    }

    @Test("Bad input: one error line naming file, line or column; non-zero exit; nothing written")
    func errors() throws {
        let directory = temporaryDirectory()
        write(sample.replacingOccurrences(of: "-118.3,34.1", with: "-118.3"), to: directory + "/ragged.csv")
        let ragged = try runHousePrice(["predict", directory + "/ragged.csv", "--output", directory + "/out.csv"])
        #expect(ragged.status != 0)
        #expect(ragged.stderr.contains("ragged.csv:4: 9 fields, but the header has 10"), "\(ragged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/out.csv"))

        let lines = sample.split(separator: "\n")
        write(lines[0].replacingOccurrences(of: "median_income,", with: "") + "\n"
              + lines[1].replacingOccurrences(of: "8.3252,", with: ""), to: directory + "/missing-column.csv")
        let missing = try runHousePrice(["predict", directory + "/missing-column.csv"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("needs column \"median_income\""), "\(missing.stderr)")

        let training = try runHousePrice(["train", directory + "/ragged.csv", "--target", "nope", "--output", directory + "/m.safetensors"])
        #expect(training.status != 0)
        #expect(!FileManager.default.fileExists(atPath: directory + "/m.safetensors"))
        #expect(try runHousePrice(["train", "x.csv", "--target", "y", "--hidden", "12,abc"]).status != 0)
    }

    @Test("train --json on a made-up schema, then inspect --json")
    func trainAndInspect() throws {
        let directory = temporaryDirectory()
        write(syntheticSales(rows: 300, seed: 3), to: directory + "/sales.csv")
        let train = try runHousePrice(["train", directory + "/sales.csv", "--target", "SalePrice", "--drop", "Id",
                                       "--log-target", "--epochs", "20", "--ensemble", "2", "--json",
                                       "--output", directory + "/m.safetensors"])
        #expect(train.status == 0, "\(train.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as! [String: Any]
        let validation = result["validation"] as? [String: Double]
        #expect(validation?.keys.sorted() == ["count", "mae", "r2", "rmse", "rmsle"])
        let inspect = try runHousePrice(["inspect", directory + "/m.safetensors", "--json"])
        let model = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        #expect(model["task"] as? String == "house-price")
        #expect((model["preprocessing"] as? [String: Any])?["logTarget"] as? Bool == true)
    }

    @Test("Ctrl-C keeps what was learned; --resume reproduces the uninterrupted ensemble bit for bit")
    func interruptAndResume() throws {
        let directory = temporaryDirectory()
        write(syntheticSales(rows: 6000, seed: 4), to: directory + "/sales.csv")
        let arguments = ["train", directory + "/sales.csv", "--target", "SalePrice", "--drop", "Id", "--log-target",
                         "--epochs", "60", "--patience", "60", "--ensemble", "4", "--seed", "9"]
        let straight = try runHousePrice(arguments + ["--output", directory + "/straight.safetensors"])
        #expect(straight.status == 0, "\(straight.stderr)")
        let output = directory + "/resumed.safetensors"
        let interrupted = try runHousePrice(arguments + ["--output", output], interruptAfter: "epoch 10/60")
        #expect(interrupted.status == 130, "\(interrupted.stderr)")
        #expect(FileManager.default.fileExists(atPath: output + ".checkpoint-1"))
        // Networks 3 and 4 had not started (two train at a time): the saved model holds only the
        // two that finished epochs, 2 × 128 wide, not four with two untrained.
        guard case let .dense(_, width) = try ModelFile.load(contentsOf: output).metadata.layers.first else {
            Issue.record("the model does not start with a dense layer")
            return
        }
        #expect(width == 256)
        let resumed = try runHousePrice(arguments + ["--output", output, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) != Data())
        let straightWeights = try ModelFile.load(contentsOf: directory + "/straight.safetensors").network.weights
        #expect(try ModelFile.load(contentsOf: output).network.weights == straightWeights)
        #expect(!FileManager.default.fileExists(atPath: output + ".checkpoint-1"))
    }

    @Test("split shuffles rows with --seed (the same seed, the same files), keeps every row once, and refuses to overwrite its input")
    func split() throws {
        let directory = temporaryDirectory()
        let rows = (0..<200).map { "\($0),\($0 * 3)" }
        write("id,value\n" + rows.joined(separator: "\n") + "\n", to: directory + "/all.csv")
        func run(seed: String, _ name: String) throws -> (train: [String], test: [String]) {
            let result = try runHousePrice(["split", directory + "/all.csv", "--seed", seed,
                                            "--train-output", directory + "/\(name)-train.csv",
                                            "--test-output", directory + "/\(name)-test.csv"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "160 training rows → \(directory)/\(name)-train.csv, 40 test rows → \(directory)/\(name)-test.csv\n")
            func body(_ file: String) throws -> [String] {
                let lines = try String(contentsOfFile: directory + "/" + file, encoding: .utf8).split(separator: "\n").map(String.init)
                #expect(lines.first == "id,value")
                return Array(lines.dropFirst())
            }
            return (try body("\(name)-train.csv"), try body("\(name)-test.csv"))
        }
        let first = try run(seed: "5", "a"), again = try run(seed: "5", "b"), other = try run(seed: "6", "c")
        #expect(first.train == again.train && first.test == again.test)
        #expect(first.train != other.train)
        #expect((first.train + first.test).sorted() == rows.sorted())
        // Shuffled, not only sampled: the rows are out of file order.
        #expect(first.train != first.train.sorted { Int($0.split(separator: ",")[0])! < Int($1.split(separator: ",")[0])! })

        let original = try Data(contentsOf: URL(fileURLWithPath: directory + "/all.csv"))
        let overwrite = try runHousePrice(["split", directory + "/all.csv", "--train-output", directory + "/./all.csv",
                                           "--test-output", directory + "/t.csv"])
        #expect(overwrite.status != 0)
        #expect(overwrite.stderr == "Error: --train-output \(directory)/./all.csv is the same file as \(directory)/all.csv; choose another output\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/all.csv")) == original)
        #expect(!FileManager.default.fileExists(atPath: directory + "/t.csv"))
        let same = try runHousePrice(["split", directory + "/all.csv", "--train-output", directory + "/x.csv",
                                      "--test-output", directory + "/x.csv"])
        #expect(same.status != 0 && same.stderr.contains("--test-output"))
    }

    @Test("The Python reference, written from Preprocessing.md alone, prices rows as the tool does (dates, codes, markers, rare categories, location)",
          .enabled(if: pythonSafetensorsPresent, "python3 lacks numpy or safetensors (pip install numpy safetensors)"))
    func pythonReference() throws {
        let directory = temporaryDirectory()
        var random = RandomGenerator(seed: 12)
        var lines = ["id,sold,area,zip,renovated,town,note,Lattitude,Longtitude,price"]
        for i in 0..<400 {
            let day = Int(random.uniform(0, 700))
            let sold = day % 3 == 0 ? String(format: "%02d/%02d/2015", day % 28 + 1, day % 12 + 1)
                                    : String(format: "2015-%02d-%02dT10:30:00", day % 12 + 1, day % 28 + 1)
            let area = Int(random.uniform(400, 4000))
            let zip = [98001, 98002, 98103][i % 3]
            let renovated = i % 4 == 0 ? "\(1990 + i % 25)" : "0"
            let town = i % 50 == 0 ? "Rare \(i)" : ["Kent", "Auburn", "Seattle, North"][i % 3]
            let note = i % 7 == 0 ? "?" : "\(i % 5)"
            let noise = Double(random.uniform(-9000, 9000))
            let (lat, lon) = (47.2 + Double(random.uniform(0, 0.6)), -122.5 + Double(random.uniform(0, 0.6)))
            let price: Double = Double(area) * 210 + Double(zip - 98000) * 900 + Double(day) * 30 + (lat - 47.2) * 90_000 + noise
            // Areas above 999 with a thousands separator, as spreadsheets export them.
            let written = area >= 1000 ? "\"\(area / 1000),\(String(format: "%03d", area % 1000))\"" : "\(area)"
            let position = i % 11 == 0 ? ["", "NA"] : [String(format: "%.5f", lat), String(format: "%.5f", lon)]
            let fields: [String] = ["\(i)", sold, written, "\(zip)", renovated, "\"\(town)\"", note] + position + ["\(price)"]
            lines.append(fields.joined(separator: ","))
        }
        write(lines.joined(separator: "\n") + "\n", to: directory + "/sales.csv")
        let train = try runHousePrice(["train", directory + "/sales.csv", "--target", "price", "--drop", "id", "--categorical", "zip",
                                       "--date-format", "DMY", "--missing", "?", "--missing-in", "renovated=0", "--epochs", "15",
                                       "--ensemble", "2", "--output", directory + "/m.safetensors"])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("\"Lattitude\" and \"Longtitude\" are read as a location too"))
        let rows = directory + "/rows.csv"
        let rowsText = lines.prefix(1).joined() + "\n" + lines.dropFirst(300).joined(separator: "\n")
            + "\n401,2019-01-01,\"5,000\",98999,2001,Nowhere,NA,48.1,-121.9,\n"
        write(rowsText, to: rows)
        /// The rows priced by the reference, parsed.
        func python(_ file: String) throws -> CSVTable {
            let python = Process()
            python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            python.arguments = ["python3", repositoryRoot + "/Tools/house-price-reference.py", directory + "/m.safetensors", file]
            let output = Pipe(), errors = Pipe()
            python.standardOutput = output
            python.standardError = errors
            try python.run()
            let bytes = [UInt8](output.fileHandleForReading.readDataToEndOfFile())
            python.waitUntilExit()
            #expect(python.terminationStatus == 0, "\(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
            return try CSVTable.parse(bytes, name: "python")
        }
        func compare(_ ours: CSVTable, _ theirs: CSVTable) {
            #expect(ours.header == theirs.header, "\(ours.header) \(theirs.header)")
            #expect(ours.rows.count == 102 && theirs.rows.count == 102, "\(ours.rows.count) \(theirs.rows.count)")
            for (a, b) in zip(ours.rows, theirs.rows) {
                #expect(a.dropLast() == b.dropLast())
                let (x, y) = (price(a.last!), price(b.last!))
                #expect(abs(x - y) <= 1e-4 * max(1, abs(x)), "\(a.first!): Swift \(x), Python \(y)")
            }
        }
        func price(_ text: String) -> Double { Double(text.replacingOccurrences(of: ",", with: "."))! }
        func bytes(_ file: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: file))) }
        let swift = try runHousePrice(["predict", rows, "--model", directory + "/m.safetensors"])
        #expect(swift.status == 0, "\(swift.stderr)")
        let ours = try CSVTable.parse(Array(swift.stdout.utf8), name: "swift")
        compare(ours, try python(rows))
        // The same rows as a European spreadsheet saves them (Windows-1252; Excel's sep= line,
        // semicolons; in numbers, points and commas swapped; prices in €): the same prices, written
        // back the same way, by both.
        let parsed = try CSVTable.parse(Array(rowsText.utf8), name: "rows")
        func swapped(_ field: String) -> String {
            DecimalSeparator.point.plainDecimal(field) == nil ? field : String(field.map { $0 == "," ? "." : $0 == "." ? "," : $0 })
        }
        let europeanText = "sep=;\r\n" + CSVWriter.line(parsed.header, delimiter: UInt8(ascii: ";")) + parsed.rows.map { row in
            CSVWriter.line(row.dropLast().map(swapped) + [row.last!.isEmpty ? "" : swapped(row.last!) + " €"], delimiter: UInt8(ascii: ";"))
        }.joined()
        let european = directory + "/rows-eu.csv"
        try Data(europeanText.unicodeScalars.map { $0 == "€" ? 0x80 : UInt8($0.value) }).write(to: URL(fileURLWithPath: european))
        let swiftEU = try runHousePrice(["predict", european, "--model", directory + "/m.safetensors", "--output", directory + "/eu-out.csv"])
        #expect(swiftEU.status == 0, "\(swiftEU.stderr)")
        let oursEU = try CSVTable.parse(try bytes(directory + "/eu-out.csv"), name: "swift")
        #expect(oursEU.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma, encoding: .windows1252))
        #expect(oursEU.rows.map { price($0.last!) } == ours.rows.map { price($0.last!) })
        compare(oursEU, try python(european))
        // split keeps the file's encoding and delimiter too, and every row once.
        let split = try runHousePrice(["split", european, "--train-output", directory + "/eu-a.csv",
                                       "--test-output", directory + "/eu-b.csv"])
        #expect(split.status == 0, "\(split.stderr)")
        let parts = try ["/eu-a.csv", "/eu-b.csv"].map { try CSVTable.parse(try bytes(directory + $0), name: $0) }
        #expect(parts.allSatisfy { $0.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma, encoding: .windows1252) })
        let europeanTable = try CSVTable.parse(try bytes(european), name: "eu")
        #expect(parts.flatMap(\.rows).sorted { $0.lexicographicallyPrecedes($1) } == europeanTable.rows.sorted { $0.lexicographicallyPrecedes($1) })
    }
}
