import Foundation
import Testing
import HousePriceKit
import StrictCSV
import Backprop

@Suite("Feature pipeline")
struct PipelineTests {
    private func fit(_ csv: String, target: String = "price", typing: ColumnTyping.Options = .init(), log: Bool = false,
                     minimumCategoryCount: Int = 1, coordinates: FeaturePipeline.CoordinateColumns = .automatic,
                     rows: [Int]? = nil) throws -> (FeaturePipeline, [String], CSVTable) {
        let t = try table(csv)
        let (targets, _) = try FeaturePipeline.readTargets(t, name: "t.csv", target: target, logTarget: log)
        let (pipeline, warnings) = try FeaturePipeline.fit(t, name: "t.csv", target: target, typing: typing, logTarget: log,
                                                           minimumCategoryCount: minimumCategoryCount, coordinates: coordinates,
                                                           trainingRows: rows ?? targets.keys.sorted(), targets: targets)
        return (pipeline, warnings, t)
    }

    private func options(_ change: (inout ColumnTyping.Options) -> Void) -> ColumnTyping.Options {
        var options = ColumnTyping.Options()
        change(&options)
        return options
    }

    /// `header` then rows "i,f(i)" for i in 0..<count, plus the target.
    private func numbers(_ count: Int, _ value: (Int) -> String = { "\($0)" }) -> String {
        "x,price\n" + (0..<count).map { "\(value($0)),\($0)\n" }.joined()
    }

    @Test("Types are inferred; NA and empty mean missing; medians, indicators and one-hot come from training rows")
    func inference() throws {
        let csv = "id,area,kind,price\n1,100,a,10\n2,NA,b,20\n3,300,a,30\n4,,c,40\n5,500,NA,50\n"
        let (pipeline, _, t) = try fit(csv, typing: options { $0.drop = ["id"] }, rows: [0, 1, 2, 3])
        #expect(pipeline.columns.map(\.name) == ["area", "kind"])
        let area = pipeline.columns[0], kind = pipeline.columns[1]
        #expect(area.kind == "numeric" && area.scale?.median == 200 && area.scale?.missingIndicator == true)
        #expect(kind.kind == "categorical" && kind.categories == ["a", "b", "c"])   // row 4 ("NA") was not a training row
        let (features, outside) = try pipeline.features(t, name: "t.csv", rows: [1, 4])
        #expect(features.shape == [2, pipeline.featureCount])
        #expect(pipeline.featureCount == 2 + 4)   // value + indicator; a, b, c + other
        // Row 1: area missing → median (standardised), indicator 1; kind "b".
        let row1 = Array(features.scalars[0..<6])
        #expect(row1[1] == 1 && row1[2...] == [0, 1, 0, 0])
        // Row 4: category missing was never seen in training → the "other" bucket, with a warning.
        #expect(Array(features.scalars[6..<12])[2...] == [0, 0, 0, 1])
        #expect(outside.messages == ["column \"kind\": 1 value(s) not among the model's categories (not seen in training, "
                                     + "or too rare there), e.g. \"(missing)\", were read as \"other\""])
    }

    @Test("A stray word in a numeric column is an error naming lines and values and the flags that unblock it, in a file of any size")
    func strayWord() throws {
        let message = "t.csv: column \"x\" is mostly numbers (40 of its 41 values), but not at line 42 (\"12O0\"); "
            + "pass --categorical \"x\" to read it as categories, --drop \"x\" to leave it out, or --missing TEXT "
            + "(--missing-in \"x=TEXT\") if a text means no value"
        expectError(message) { try fit(numbers(41) { $0 == 40 ? "12O0" : "\(100 + $0)" }) }
        // Small files too: 3 numbers and 1 word is still mostly numbers.
        expectError("t.csv: column \"x\" is mostly numbers (3 of its 4 values), but not at line 3 (\"n/a\"); "
                    + "pass --categorical \"x\" to read it as categories, --drop \"x\" to leave it out, or --missing TEXT "
                    + "(--missing-in \"x=TEXT\") if a text means no value") {
            try fit(numbers(4) { $0 == 1 ? "n/a" : "\($0)" })
        }
        // Several offenders: the first three are quoted, the rest counted.
        let many = try #require(#expect(throws: HousePriceError.self) {
            try fit(numbers(30) { $0 % 5 == 0 ? "\($0)0 - \($0)5" : "\($0)" })
        })
        #expect(many.description.contains("but not at line 2 (\"00 - 05\"), line 7 (\"50 - 55\"), line 12 (\"100 - 105\") and 3 more"))
        // Each suggested flag unblocks it.
        let csv = numbers(41) { $0 == 40 ? "12O0" : "\(100 + $0)" }
        #expect(try fit(csv, typing: options { $0.categorical = ["x"] }).0.columns[0].kind == "categorical")
        let withY = "x,y,price\n" + (0..<41).map { "\($0 == 40 ? "12O0" : "\(100 + $0)"),\($0 % 7),\($0)\n" }.joined()
        #expect(try fit(withY, typing: options { $0.drop = ["x"] }).0.columns.map(\.name) == ["y"])
        #expect(try fit(csv, typing: options { $0.missing = ["12O0"] }).0.columns[0].scale?.missingIndicator == true)
        #expect(try fit(csv, typing: options { $0.columnMissing = ["x": ["12O0"]] }).0.columns[0].kind == "numeric")
    }

    @Test("inf, -inf and 1e400 are errors naming line, column and value")
    func nonFinite() throws {
        for word in ["inf", "-inf", "1e400", "-Infinity"] {
            expectError("t.csv:4: column \"x\": \"\(word)\" is not a finite number; pass --missing-in \"x=\(word)\" "
                        + "if it means no value, or --drop \"x\"") {
                try fit(numbers(10) { $0 == 2 ? word : "\($0)" })
            }
        }
        // At prediction too, with the line.
        let (pipeline, _, _) = try fit(numbers(10))
        expectError("new.csv:3: column \"x\": \"1e400\" is not a finite number") {
            _ = try pipeline.features(try table("x\n1\n1e400\n"), name: "new.csv", rows: [0, 1])
        }
    }

    @Test("An all-empty column and a constant column are ignored with a warning")
    func emptyAndConstant() throws {
        let csv = "empty,constant,label,x,price\n" + (0..<30).map { ",7,same,\($0 % 10),\($0)\n" }.joined()
        let (pipeline, warnings, _) = try fit(csv)
        #expect(pipeline.columns.map(\.name) == ["x"])
        #expect(warnings == ["column \"empty\" has no values in the training rows; ignored",
                             "column \"constant\" has the same value (7) in every training row; ignored",
                             "column \"label\" has the same value (\"same\") in every training row; ignored"])
    }

    @Test("A date column is recognised in each common form and becomes a day number and the month as a season")
    func dateColumn() throws {
        let forms: [(String, (Int) -> String)] = [
            ("ISO", { String(format: "2014-%02d-%02d", $0 % 12 + 1, $0 % 28 + 1) }),
            ("ISO basic", { String(format: "2014%02d%02dT000000", $0 % 12 + 1, $0 % 28 + 1) }),
            ("day first", { String(format: "%02d/%02d/2014", $0 % 28 + 1, $0 % 12 + 1) }),
            ("month first", { String(format: "%02d/%02d/2014", $0 % 12 + 1, $0 % 28 + 1) }),
            ("month name", { "\($0 % 28 + 1) \(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][$0 % 12]) 2014" }),
        ]
        for (form, date) in forms {
            let (pipeline, _, t) = try fit("sold,price\n" + (0..<40).map { "\(date($0)),\($0)\n" }.joined())
            let column = pipeline.columns[0]
            #expect(column.kind == "date", "\(form)")
            #expect(column.width == 1 + 2 + (column.scale!.binEdges.isEmpty ? 0 : column.scale!.binEdges.count - 1), "\(form)")
            // Row 0 is 1 January 2014 in every form: day 16071, month angle 0 → (sin, cos) = (0, 1).
            let (features, _) = try pipeline.features(t, name: "t.csv", rows: [0])
            let scale = column.scale!
            #expect(abs(features.scalars[0] - Float((16071 - scale.mean) / scale.deviation)) < 1e-5, "\(form)")
            let season = Array(features.scalars[(column.width - 2)...])
            #expect(abs(season[0]) < 1e-6 && abs(season[1] - 1) < 1e-6, "\(form)")
        }
        // A date outside the training range still reads (the day number extrapolates).
        let (pipeline, _, _) = try fit("sold,price\n" + (0..<40).map { "2014-01-\(String(format: "%02d", $0 % 28 + 1)),\($0)\n" }.joined())
        let (later, _) = try pipeline.features(try table("sold\n2031-06-30\n"), name: "new.csv", rows: [0])
        #expect(later.scalars[0] > 100)
        expectError("new.csv:2: column \"sold\": \"31/02/2014\" is not a date in this column's form (YMD)") {
            _ = try pipeline.features(try table("sold\n31/02/2014\n"), name: "new.csv", rows: [0])
        }
    }

    @Test("Day-first and month-first dates are told apart by the values, or by --date-format when they cannot be")
    func dateOrder() throws {
        let dayFirst = "sold,price\n13/10/2014,1\n" + (0..<30).map { "01/02/2014,\($0)\n" }.joined()
        let (pipeline, _, t) = try fit(dayFirst)
        let (features, _) = try pipeline.features(t, name: "t.csv", rows: [1])
        // 01/02/2014 read day first is 1 February: month angle 30°, sin 0.5.
        #expect(abs(features.scalars[pipeline.featureCount - 2] - 0.5) < 1e-6)
        let ambiguous = "sold,price\n" + (0..<30).map { "03/04/2014,\($0)\n" }.joined()
        expectError("t.csv: column \"sold\" dates such as \"03/04/2014\" read both day first and month first, and no value "
                    + "tells which; pass --date-format DMY or --date-format MDY") { try fit(ambiguous) }
        #expect(try fit(ambiguous, typing: options { $0.dateOrder = .mdy }).0.columns[0].kind == "date")
        let contradictory = "sold,price\n13/10/2014,1\n10/13/2014,2\n" + (0..<30).map { "01/02/2014,\($0)\n" }.joined()
        #expect(throws: HousePriceError.self) { try fit(contradictory) }
        // A column of YYYYMMDD numbers is numeric unless declared a date.
        let compact = "sold,price\n" + (0..<30).map { "201401\(String(format: "%02d", $0 + 1)),\($0)\n" }.joined()
        #expect(try fit(compact).0.columns[0].kind == "numeric")
        #expect(try fit(compact, typing: options { $0.date = ["sold"] }).0.columns[0].kind == "date")
    }

    @Test("Identifiers, integer codes and years with 0 for 'never' are pointed out")
    func codesAndIdentifiers() throws {
        let csv = "Id,zipcode,yr_renovated,street,price\n" + (0..<40).map { i in
            "\(i + 1),\(98001 + i % 4),\(i % 3 == 0 ? 2005 : 0),Street \(i),\(i)\n"
        }.joined()
        let (_, warnings, _) = try fit(csv)
        // A record id repeated by a resale is still an identifier.
        let resold = "parcel,x,price\n" + (0..<40).map { "\(1000 + min($0, 38)),\($0 % 4),\($0)\n" }.joined()
        #expect(try fit(resold).1.contains("column \"parcel\" has a different value in 39 of its 40 rows: an identifier? "
                                          + "If so, leave it out with --drop \"parcel\""))
        #expect(warnings.contains("column \"Id\" has a different value in every row: an identifier? If so, leave it out with --drop \"Id\""))
        #expect(warnings.contains("column \"street\" has a different value in every row: an identifier? If so, leave it out with --drop \"street\""))
        #expect(warnings.contains("column \"zipcode\" holds whole numbers and is named like a code; if its numbers are labels "
                                  + "rather than amounts, pass --categorical \"zipcode\""))
        #expect(warnings.contains("column \"yr_renovated\" is 0 in 26 rows while its other values look like years; if 0 means "
                                  + "\"never\" or \"unknown\", pass --missing-in \"yr_renovated=0\""))
        let coded = try fit(csv, typing: options { $0.categorical = ["zipcode"]; $0.drop = ["Id", "street"] }).0
        #expect(coded.columns.first { $0.name == "zipcode" }?.categories == ["98001.0", "98002.0", "98003.0", "98004.0"])
    }

    @Test("Options naming missing columns, the target, or one column twice are errors")
    func optionErrors() throws {
        let csv = numbers(30)
        expectError("t.csv: --numeric names column \"y\", which the file does not have (columns: x, price)") {
            try fit(csv, typing: options { $0.numeric = ["y"] })
        }
        expectError("t.csv: column \"x\" is named by both --numeric and --categorical; choose one") {
            try fit(csv, typing: options { $0.numeric = ["x"]; $0.categorical = ["x"] })
        }
        expectError("t.csv: column \"price\" is the target; --drop applies to input columns only") {
            try fit(csv, typing: options { $0.drop = ["price"] })
        }
    }

    @Test("A file saved by a European spreadsheet (semicolons, decimal commas, dots between thousands) gives its twin's features")
    func europeanTwin() throws {
        // The same houses written both ways: coordinates, areas with thousands, prices with cents,
        // a category with a comma in it and dates (ISO in both).
        func point(_ x: Double) -> String { String(format: "%.4f", x) }
        func comma(_ x: Double) -> String { point(x).replacingOccurrences(of: ".", with: ",") }
        func grouped(_ n: Int, _ mark: String) -> String { n >= 1000 ? "\(n / 1000)\(mark)" + String(format: "%03d", n % 1000) : "\(n)" }
        var us = "lat,lon,area,kind,sold,price\n", eu = "lat;lon;area;kind;sold;price\n"
        for i in 0..<60 {
            let (lat, lon, area, price) = (37.0 + Double(i) / 37, -122.0 + Double(i % 7) / 11, 900 + 97 * i, 100_000 + 1_234 * i)
            let (kind, day) = (["flat, small", "house", "villa"][i % 3], String(format: "2014-%02d-%02d", 1 + i % 12, 1 + i % 28))
            us += "\(point(lat)),\(point(lon)),\"\(grouped(area, ","))\",\"\(kind)\",\(day),\"$\(grouped(price, ",")).50\"\n"
            eu += "\(comma(lat));\(comma(lon));\(grouped(area, "."));\(kind);\(day);\(grouped(price, ".")),50 €\n"
        }
        let (usPipeline, _, usTable) = try fit(us)
        let (euPipeline, _, euTable) = try fit(eu)
        #expect(euTable.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma))
        #expect(euTable.rows[5][2] == "1.385" && euTable.rows[5][5] == "106.170,50 €" && usTable.rows[5][5] == "$106,170.50")
        #expect(euPipeline.columns.map(\.kind) == ["numeric", "numeric", "numeric", "categorical", "date"])
        #expect(euPipeline.columns.map(\.kind) == usPipeline.columns.map(\.kind))
        let (usTargets, _) = try FeaturePipeline.readTargets(usTable, name: "us.csv", target: "price", logTarget: false)
        let (euTargets, _) = try FeaturePipeline.readTargets(euTable, name: "eu.csv", target: "price", logTarget: false)
        #expect(euTargets == usTargets && euTargets[5] == 106_170.5)
        let (usFeatures, _) = try usPipeline.features(usTable, name: "us.csv", rows: usTable.rows.indices)
        let (euFeatures, _) = try euPipeline.features(euTable, name: "eu.csv", rows: euTable.rows.indices)
        #expect(euFeatures.shape == usFeatures.shape && euFeatures.scalars.elementsEqual(usFeatures.scalars))
        // A model fitted on one reads the other: the dialect belongs to the file, not to the model.
        let (crossed, _) = try usPipeline.features(euTable, name: "eu.csv", rows: euTable.rows.indices)
        #expect(crossed.scalars.elementsEqual(usFeatures.scalars))
    }

    @Test("Thousands separators, currency signs, exponent notation and decimal commas read as numbers")
    func numberForms() {
        #expect(CellValue("1,225,000") == .number(1_225_000))
        #expect(CellValue("$350,000.50") == .number(350_000.5))
        #expect(CellValue("-€12") == .number(-12))
        #expect(CellValue("1.225e+006") == .number(1_225_000))
        #expect(CellValue(" 42 ") == .number(42))
        #expect(CellValue("1,22,500") == .text("1,22,500"))
        #expect(CellValue("1.234,5") == .number(1234.5) && CellValue("3,25") == .number(3.25))
        // Cells that read both ways follow the file's separator; the fast path leaves them to it.
        #expect(CellValue("1,234") == .number(1234) && CellValue("1.234") == .number(1.234))
        #expect(CellValue("1,234", missing: [], decimalSeparator: .comma) == .number(1.234))
        #expect(CellValue("1.234", missing: [], decimalSeparator: .comma) == .number(1234))
        #expect(CellValue("122.23", missing: [], decimalSeparator: .comma) == .number(122.23))
        #expect(CellValue("1 234 567,50 €", missing: [], decimalSeparator: .comma) == .number(1_234_567.5))
        #expect(CellValue("0x10") == .text("0x10"))
        #expect(CellValue("1e400") == .nonFinite && CellValue("-inf") == .nonFinite)
        #expect(CellValue("?", missing: ["?"]) == .missing && CellValue("NA") == .missing)
        // Plain decimals (read on a faster path) as the general path reads them.
        #expect(CellValue("-122.23") == .number(-122.23) && CellValue(".5") == .number(0.5) && CellValue("+7") == .number(7))
        #expect(CellValue("2E3") == .number(2000) && CellValue("1e999") == .nonFinite)
        #expect(CellValue("-1", missing: ["-1"]) == .missing && CellValue("-1", missing: ["NA"]) == .number(-1))
        #expect(CellValue("1.") == .number(1) && CellValue(".") == .text(".") && CellValue("1e") == .text("1e"))
    }

    @Test("Dates: every recognised form gives the same day; impossible days and other shapes are not dates")
    func dateReading() {
        let day = 16356.0   // 13 October 2014
        for text in ["2014-10-13", "2014/10/13", "20141013T000000", "13 Oct 2014", "13-Oct-2014", "Oct 13, 2014",
                     "October 13 2014", "2014-10-13T00:00:00Z"] {
            #expect(DateReading.dayNumber(text, order: .ymd) == day, "\(text)")
        }
        #expect(DateReading.dayNumber("13/10/2014", order: .dmy) == day)
        #expect(DateReading.dayNumber("10/13/2014", order: .mdy) == day)
        #expect(DateReading.dayNumber("13.10.2014", order: .dmy) == day)
        #expect(DateReading.dayNumber("2014-10-13 12:00", order: .ymd) == day + 0.5)
        #expect(DateReading.dayNumber("20141013T060000", order: .ymd) == day + 0.25)
        #expect(DateReading.dayNumber("2016-02-29", order: .ymd) != nil && DateReading.dayNumber("2015-02-29", order: .ymd) == nil)
        for text in ["1160 - 1315", "13 10 2014", "2014-13-01", "Octember 3 2014", "12/2014", "13th Oct 2014", "1-2-3"] {
            #expect(!DateReading.looksLikeDate(text), "\(text)")
        }
        #expect(DateReading.chooseOrder(["13/10/2014", "01/02/2014"]) == .order(.dmy))
        #expect(DateReading.chooseOrder(["10/13/2014", "01/02/2014"]) == .order(.mdy))
        #expect(DateReading.chooseOrder(["01/02/2014"]) == .ambiguous)
    }

    @Test("Rare categories share the 'other' bucket with unseen ones; the warning comes at fitting")
    func rareCategories() throws {
        let csv = "town,price\n" + (0..<60).map { i in "\(i < 50 ? "Big\(i % 2)" : "Tiny\(i)"),\(i)\n" }.joined()
        let (pipeline, warnings, t) = try fit(csv, minimumCategoryCount: 5)
        #expect(pipeline.columns[0].categories == ["Big0", "Big1"])
        #expect(warnings == ["column \"town\": 10 of its 12 categories (10 training rows) occur fewer than 5 times; "
                             + "they share the \"other\" bucket with values not seen in training"])
        let (features, _) = try pipeline.features(t, name: "t.csv", rows: [55])
        #expect(features.scalars == [0, 0, 1])
    }

    @Test("Target problems: missing column, unparsable, non-finite, non-positive with a log target, missing values skipped")
    func targets() throws {
        expectError("t.csv: no target column \"price\" (columns: a, b)") { try fit("a,b\n1,2\n") }
        expectError("t.csv:3: target \"price\": \"cheap\" is not a number") { try fit("a,price\n1,2\n2,cheap\n") }
        expectError("t.csv:3: target \"price\": \"inf\" is not a finite number") { try fit("a,price\n1,2\n2,inf\n") }
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
        let (pipeline, _, t) = try fit(numbers(100))
        let edges = try #require(pipeline.columns[0].scale?.binEdges)
        #expect(edges.count == FeaturePipeline.defaultBins + 1 && edges.first == 0 && edges.last == 99)
        let (features, _) = try pipeline.features(t, name: "t.csv", rows: [50])
        let bins = Array(features.scalars.dropFirst())
        let inside = bins.firstIndex { $0 > 0 && $0 < 1 } ?? bins.firstIndex { $0 == 0 }!
        #expect(bins[..<inside].allSatisfy { $0 == 1 } && bins[(inside + 1)...].allSatisfy { $0 == 0 })
    }

    @Test("The bins' columns are announced to the network: every row of every kind of column fits them, missing values too")
    func thermometerColumns() throws {
        // A number with gaps (its missing indicator sits between value and bins), a category, a
        // date, a location, and few distinct values (fewer bins).
        var csv = "area,kind,sold,lat,lon,rooms,price\n"
        for i in 0..<60 {
            csv += "\(i % 7 == 0 ? "" : String(50 + i * 3)),\(["a", "b", "c"][i % 3]),"
                + "2014-\(String(format: "%02d-%02d", 1 + i % 12, 1 + i % 28)),"
                + "\(37 + Double(i) / 50),\(-122 + Double(i) / 40),\(i % 4),\(100 + i)\n"
        }
        let (pipeline, _, t) = try fit(csv)
        let columns = pipeline.thermometerColumns
        let (features, _) = try pipeline.features(t, name: "t.csv", rows: Array(0..<60))
        // One group per scale with bins: area, the date's day number, lat, lon, 10 projections (rooms
        // has too few distinct values for bins).
        #expect(columns.groups.count == 14)
        #expect(columns.matches(features))
        #expect(columns.groups.reduce(0) { $0 + $1.count } > features.shape[1] / 2)
        // Shifted by one column, the groups no longer fit: they are where the bins are, not near them.
        let shifted = ThermometerColumns(groups: columns.groups.map { ($0.lowerBound - 1)..<($0.upperBound - 1) })
        #expect(!shifted.matches(features))
    }

    @Test("High-cardinality text columns keep their most frequent categories, with a warning")
    func cardinality() throws {
        var csv = "street,price\n"
        for i in 0..<200 { csv += "Street \(i % 100),\(i)\n" }
        let (pipeline, warnings, _) = try fit(csv)
        #expect(pipeline.columns[0].categories?.count == FeaturePipeline.maximumCategories)
        #expect(warnings.contains { $0.contains("36 of its 100 categories (72 training rows) are beyond the 64 most frequent") })
    }

    @Test("Metrics: RMSE, MAE, R², RMSLE, the same whether given at once or one at a time")
    func metrics() {
        let metrics = RegressionMetrics(predicted: [110, 190, 300], actual: [100, 200, 300])
        #expect(abs(metrics.rmse - (200.0 / 3).squareRoot()) < 1e-9)
        #expect(abs(metrics.mae - 20.0 / 3) < 1e-9)
        #expect(abs(metrics.r2 - (1 - 200.0 / 20000)) < 1e-9)
        let expected = ((pow(log(111.0 / 101), 2) + pow(log(191.0 / 201), 2)) / 3).squareRoot()
        #expect(abs(metrics.rmsle - expected) < 1e-9)
        var accumulator = RegressionMetrics.Accumulator()
        for (p, y) in zip([110.0, 190, 300], [100.0, 200, 300]) { accumulator.add(predicted: p, actual: y) }
        #expect(accumulator.metrics == metrics)
    }

    @Test("Model files with bad preprocessing are refused with a reason, never trusted")
    func untrustedPipeline() throws {
        let (pipeline, _, _) = try fit("x,kind,price\n" + (0..<40).map { "\($0),\(["a", "b", "c"][$0 % 3]),\($0)\n" }.joined())
        let good = try JSONEncoder().encode(pipeline)
        #expect(try JSONDecoder().decode(FeaturePipeline.self, from: good) == pipeline)
        func decode(_ change: (inout [String: Any]) -> Void) -> String? {
            var object = try! JSONSerialization.jsonObject(with: good) as! [String: Any]
            change(&object)
            let data = try! JSONSerialization.data(withJSONObject: object)
            do {
                _ = try JSONDecoder().decode(FeaturePipeline.self, from: data)
                return nil
            } catch {
                return "\(error)"
            }
        }
        func column(_ index: Int, _ change: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
            { object in
                var columns = object["columns"] as! [[String: Any]]
                change(&columns[index])
                object["columns"] = columns
            }
        }
        #expect(decode(column(0) { $0["deviation"] = 0 })?.contains("deviation must be a finite number above 0") == true)
        #expect(decode(column(0) { $0["deviation"] = -2 })?.contains("deviation must be") == true)
        #expect(decode(column(0) { $0.removeValue(forKey: "mean") }) != nil)
        #expect(decode(column(0) { $0["binEdges"] = [1, 3, 2] })?.contains("strictly increasing") == true)
        #expect(decode(column(0) { $0["binEdges"] = [Double]() }) == nil)   // no bins: allowed
        #expect(decode(column(0) { $0["binEdges"] = [1, 2] })?.contains("at least 3 edges") == true)
        #expect(decode(column(1) { $0["categories"] = ["b", "a"] })?.contains("sorted and unique") == true)
        #expect(decode(column(1) { $0["categories"] = ["a", "a"] })?.contains("sorted and unique") == true)
        #expect(decode(column(1) { $0.removeValue(forKey: "categories") }) != nil)
        #expect(decode(column(0) { $0["kind"] = "complex" })?.contains("unknown column kind") == true)
        #expect(decode { $0["targetDeviation"] = 0 }?.contains("target's mean and deviation") == true)
        #expect(decode { $0["columns"] = [Any]() }?.contains("a model needs 1 to") == true)
        #expect(decode(column(1) { $0["name"] = "x" })?.contains("appears twice") == true)
        #expect(decode(column(1) { $0["categories"] = (0..<200_000).map { String(format: "%06d", $0) } })?
            .contains("above the limit") == true)
    }

    @Test("Latitude and longitude columns are found by name and also read as projections at 15° steps")
    func locations() throws {
        func sales(_ lat: String, _ lon: String, latitude: (Int) -> Double = { 37 + Double($0 % 17) / 10 }) -> String {
            "\(lat),\(lon),rooms,price\n" + (0..<40).map { "\(latitude($0)),\(-122 + Double($0 % 13) / 10),\($0 % 5),\($0)\n" }.joined()
        }
        for (lat, lon) in [("latitude", "longitude"), ("lat", "long"), ("Lattitude", "Longtitude"), ("LAT", "LNG")] {
            let (pipeline, _, _) = try fit(sales(lat, lon))
            #expect(pipeline.locations.map(\.latitude) == [lat] && pipeline.locations.map(\.longitude) == [lon], "\(lat), \(lon)")
        }
        let (pipeline, warnings, t) = try fit(sales("latitude", "longitude"))
        let location = try #require(pipeline.locations.first)
        #expect(location.angles == [15, 30, 45, 60, 75, 105, 120, 135, 150, 165])
        #expect(warnings.contains("\"latitude\" and \"longitude\" are read as a location too (10 projections at 15° steps); "
                                  + "--coordinates none turns this off"))
        // Row 3: latitude 37.3, longitude -121.7; its projection at 45° (standardised) is where the columns' features end + 2 scales.
        let (features, _) = try pipeline.features(t, name: "t.csv", rows: [3])
        let offset = pipeline.columns.reduce(0) { $0 + $1.width } + location.projections[0].width + location.projections[1].width
        let expected = (-121.7 * location.longitudeScale * cos(Double.pi / 4) + 37.3 * sin(Double.pi / 4) - location.projections[2].mean)
            / location.projections[2].deviation
        #expect(abs(Double(features.scalars[offset]) - expected) < 1e-4)
        #expect(pipeline.featureCount == features.shape[1])
        // Off: --coordinates none; two candidates, or values that are not degrees: not a location.
        #expect(try fit(sales("latitude", "longitude"), coordinates: .none).0.locations.isEmpty)
        #expect(try fit(sales("lat", "lon") .replacingOccurrences(of: "rooms", with: "lateness")).0.locations.isEmpty)
        #expect(try fit(sales("latitude", "longitude") { Double($0) * 10 }).0.locations.isEmpty)
        // Named explicitly, other names work.
        let named = try fit(sales("y", "x"), coordinates: .columns(latitude: "y", longitude: "x")).0
        #expect(named.locations.first?.latitude == "y")
    }
}
