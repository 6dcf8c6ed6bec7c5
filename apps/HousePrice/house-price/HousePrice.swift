import ArgumentParser
import Backprop
import CommandLineSupport
import Foundation
import HousePriceKit
import HousePriceService
import Synchronization
import ModelFile
import StrictCSV

@main
struct HousePrice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "house-price",
        abstract: "Train, run and evaluate a house-price regressor from CSV files.",
        version: BackpropVersion.current,
        subcommands: [Train.self, Predict.self, Evaluate.self, Inspect.self, Split.self, Serve.self])

    /// `train`'s default output and the shipped model's name: see `ModelChoice` for the rule.
    static func main() { StandardStreams.run { Self.main(nil) } }

    static let modelChoice = ModelChoice(name: "house-price.safetensors")
    static let modelHelp = "Model file (default: ./house-price.safetensors, which train writes, if present; else the shipped model)."
}

/// Options shared by the commands that read a model.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(HousePrice.modelHelp, valueName: "model"))
    var model: String?

    /// The file to read, after saying on stderr which one was chosen when `--model` was not given.
    func path() throws -> String { try chooseModel(given: model, HousePrice.modelChoice) }
}

extension BinPlacement: ExpressibleByArgument {}

/// How a CSV argument is written, where the user says so instead of letting the file tell
/// (``CSVDialect``): for a file whose first records leave it open.
struct CSVDialectOptions: ParsableArguments {
    enum Delimiter: String, CaseIterable, ExpressibleByArgument {
        case auto, comma, semicolon, tab, bar
        var byte: UInt8? { CSVDialect.delimiter(named: rawValue) }
    }
    enum Decimal: String, CaseIterable, ExpressibleByArgument {
        case auto, point, comma
        var separator: DecimalSeparator? { self == .auto ? nil : DecimalSeparator(rawValue: rawValue) }
    }

    @Option(help: "Field separator of the CSV: auto (told from its first records), comma, semicolon, tab or bar.")
    var delimiter = Delimiter.auto

    @Option(help: ArgumentHelp("How its numbers write decimals: auto (told from its first records), point (1,234.5) or "
                               + "comma (1.234,5).", valueName: "decimal"))
    var decimal = Decimal.auto
}

extension DateOrder: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension HousePrice {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a model from a CSV of house sales (any columns; one numeric target).",
            discussion: """
            Each column is inferred to be numeric, categorical or a date (ISO, 20141013T000000, \
            13/10/2014 or 10/13/2014, month names); a column that is mostly numbers but not all is \
            an error that names lines and values and the option that unblocks it (--categorical, \
            --drop, --missing). Missing values (empty, NA) are imputed; categories are one-hot \
            encoded, rare and unseen ones sharing an "other" bucket; dates become a day number and \
            the month as a season; everything is fitted on the training rows and saved in the model. \
            Fields may be separated by commas, semicolons, tabs or bars, and numbers written with \
            decimal commas (1.234,5): both are told from the file (--delimiter, --decimal). The shipped model came from: \
            house-price train data/california-housing/housing.csv --target median_house_value \
            --output data/models/house-price.safetensors
            """)

        @Argument(help: ArgumentHelp("Training CSV.", valueName: "csv"))
        var csv: String

        @Option(help: "The column to predict.")
        var target: String

        @Option(help: ArgumentHelp("Comma-separated columns to ignore (ids, leaks).", valueName: "c1,c2"))
        var drop: String?

        @Option(help: ArgumentHelp("Comma-separated columns to read as numbers (each value a number or missing).", valueName: "c1,c2"))
        var numeric: String?

        @Option(help: ArgumentHelp("Comma-separated columns to read as categories (e.g. integer codes such as zip codes).", valueName: "c1,c2"))
        var categorical: String?

        @Option(help: ArgumentHelp("Comma-separated columns to read as dates.", valueName: "c1,c2"))
        var date: String?

        @Option(help: ArgumentHelp("Order of day and month in dates written with numbers only (e.g. 03/04/2016): DMY, MDY or YMD. "
                                   + "Needed only when the values cannot tell.", valueName: "order"))
        var dateFormat: DateOrder?

        @Option(help: ArgumentHelp("A text that means 'no value' in every column (repeatable), besides empty, NA, N/A, NaN, null.",
                                   valueName: "text"))
        var missing: [String] = []

        @Option(help: ArgumentHelp("A text that means 'no value' in one column (repeatable), e.g. yr_renovated=0.",
                                   valueName: "column=text"))
        var missingIn: [String] = []

        @Option(help: ArgumentHelp("Latitude and longitude columns, also read as a location: auto (a column named lat... and one "
                                   + "named lon... or lng...), none, or LAT,LON.", valueName: "columns"))
        var coordinates = "auto"

        @Option(help: "Categories seen in fewer training rows share one 'other' bucket.")
        var minCategoryCount = FeaturePipeline.defaultMinimumCategoryCount

        @Flag(help: "Train on log(target): for skewed prices.")
        var logTarget = false

        @Option(help: "Maximum passes over the training rows (early stopping may end sooner).")
        var epochs = HousePriceOptions(target: "").epochs

        @Option(help: "Rows per optimizer step.")
        var batchSize = HousePriceOptions(target: "").batchSize

        @Option(help: "Peak learning rate (AdamW with a cosine schedule).")
        var learningRate = HousePriceOptions(target: "").learningRate

        @Option(help: ArgumentHelp("Hidden layer widths of each network.", valueName: "128,128"))
        var hidden = HousePriceOptions(target: "").hidden.map(String.init).joined(separator: ",")

        @Option(help: "Quantile bins for the piecewise-linear encoding of numeric columns (0 turns it off).")
        var bins = FeaturePipeline.defaultBins

        @Option(help: ArgumentHelp("Where bin edges go: quantiles (equal rows per bin) or target (where the price changes, from a "
                                   + "regression tree on each column).", valueName: "placement"))
        var binPlacement = HousePriceOptions(target: "").binPlacement

        @Option(help: "Stop a network after this many epochs without a better validation loss.")
        var patience = HousePriceOptions(target: "").patience

        @Option(help: "Networks to train (side by side on the available cores) and average into one model.")
        var ensemble = HousePriceOptions(target: "").ensemble

        @Option(help: "Dropout rate after each hidden layer.")
        var dropout = HousePriceOptions(target: "").dropout

        @Option(help: "AdamW weight decay.")
        var weightDecay = HousePriceOptions(target: "").weightDecay

        @Option(help: "Seed for the validation split, initialisation and shuffling.")
        var seed = HousePriceOptions(target: "").seed

        @Option(help: "Share of rows held out for validation (early stopping and the reported metrics).")
        var validation = HousePriceOptions(target: "").validation

        @Option(help: ArgumentHelp("Cut each batch into this many shards, computed one by one and added in a fixed order: "
                                   + "runs with the same shards give the same weights bit for bit, alone or on any number of "
                                   + "MPI ranks that fits them (default: one per rank; on --resume, the checkpoint's).",
                                   valueName: "count"))
        var shards: Int?

        @OptionGroup var dialect: CSVDialectOptions

        @OptionGroup var threads: ThreadOptions

        @Option(help: ArgumentHelp("Where to write the model.", valueName: "model"))
        var output = "house-price.safetensors"

        @Flag(help: "Continue the interrupted run whose checkpoint is next to --output.")
        var resume = false

        @Option(help: ArgumentHelp("Write an HTML training report here, refreshed after every epoch (reload it to watch).",
                                   valueName: "file.html"))
        var report: String?

        @Flag(help: "Print the validation metrics as one JSON object.")
        var json = false

        func validate() throws {
            guard epochs >= 1, batchSize >= 1 else { throw ValidationError("--epochs and --batch-size must be at least 1") }
            guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
            guard patience >= 1 else { throw ValidationError("--patience must be at least 1") }
            guard ensemble >= 1 && ensemble <= 64 else { throw ValidationError("--ensemble must be 1...64") }
            guard bins == 0 || (bins >= 2 && bins <= 256) else { throw ValidationError("--bins must be 0 or 2...256") }
            guard dropout >= 0, dropout < 1 else { throw ValidationError("--dropout must be in [0, 1)") }
            guard weightDecay >= 0, weightDecay.isFinite else { throw ValidationError("--weight-decay must be non-negative") }
            guard validation >= 0, validation < 0.9 else { throw ValidationError("--validation must be in [0, 0.9)") }
            guard hiddenWidths != nil else { throw ValidationError("--hidden must be comma-separated positive widths, e.g. 256,256") }
            guard coordinateColumns != nil else { throw ValidationError("--coordinates takes auto, none or LAT,LON") }
            guard minCategoryCount >= 1 else { throw ValidationError("--min-category-count must be at least 1") }
            if let shards, shards < 1 { throw ValidationError("--shards must be at least 1") }
            for pair in missingIn where !pair.contains("=") || pair.hasPrefix("=") {
                throw ValidationError("--missing-in takes COLUMN=TEXT (e.g. yr_renovated=0), not \"\(pair)\"")
            }
        }

        var coordinateColumns: FeaturePipeline.CoordinateColumns? {
            switch coordinates {
            case "auto": return .automatic
            case "none": return FeaturePipeline.CoordinateColumns.none
            default:
                let names = coordinates.split(separator: ",").map { String($0).trimmingSpaces }
                return names.count == 2 && !names.contains("") ? .columns(latitude: names[0], longitude: names[1]) : nil
            }
        }

        /// `--drop`, `--numeric` and the rest as one description of the columns.
        var typing: ColumnTyping.Options {
            func list(_ text: String?) -> [String] {
                text?.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty } ?? []
            }
            var typing = ColumnTyping.Options()
            typing.drop = list(drop)
            typing.numeric = list(numeric)
            typing.categorical = list(categorical)
            typing.date = list(date)
            typing.dateOrder = dateFormat
            typing.missing = missing
            for pair in missingIn {
                let split = pair.firstIndex(of: "=")!
                typing.columnMissing[String(pair[..<split]), default: []].append(String(pair[pair.index(after: split)...]).trimmingSpaces)
            }
            return typing
        }

        var hiddenWidths: [Int]? {
            let widths = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 65536 }) else { return nil }
            return widths.map { $0! }
        }

        func run() throws {
            // Under mpirun, one rank of a data-parallel run (README.md, "Training on several machines").
            let job = try TrainingJob()
            try job.run { try train(job) }
        }

        private func train(_ job: TrainingJob) throws {
            // Found out now, not after the training it would have thrown away.
            try job.together {
                guard job.isLead else { return }
                try OutputCheck.requireDistinct(output, option: "--output", from: [csv])
                try OutputCheck.requireWritable(output, option: "--output")
                if let report {
                    try OutputCheck.requireDistinct(report, option: "--report", from: [csv, output])
                    try OutputCheck.requireWritable(report, option: "--report")
                }
            }
            // Training allocates and frees large blocks every batch: keep them instead of re-faulting them.
            AllocatorTuning.keepFreedMemory()
            var options = HousePriceOptions(target: target)
            options.typing = typing
            options.minimumCategoryCount = minCategoryCount
            (options.delimiter, options.decimalSeparator) = (dialect.delimiter.byte, dialect.decimal.separator)
            options.logTarget = logTarget
            options.epochs = epochs
            options.batchSize = batchSize
            options.learningRate = learningRate
            options.hidden = hiddenWidths!
            options.seed = seed
            options.validation = validation
            options.dropout = dropout
            options.bins = bins
            options.binPlacement = binPlacement
            options.coordinates = coordinateColumns!
            options.ensemble = ensemble
            options.patience = patience
            options.weightDecay = weightDecay
            options.shards = shards
            Interrupt.install()
            let progress = TrainingProgress(unit: "rows", mayStopEarly: true)
            let printing = Mutex(())   // members report from their own threads
            let command = (["house-price"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
            let histories = Mutex([[EpochReport]](repeating: [], count: ensemble))
            func writeReport(finished: Bool) {
                guard let report, job.isLead else { return }
                let html = HousePriceReports.training(histories.withLock { $0 }, command: command, finished: finished)
                do {
                    try FileIO.writeAtomically(Array(html.utf8), to: report)
                } catch {
                    Console.error("warning: cannot write the report \(error)")
                }
            }
            let outcome = try HousePriceTraining.run(
                csv: csv, options: options, output: output, threads: threads.threads, resume: resume,
                command: command, group: job.group,
                onBatch: progress.batch, onEpoch: { member, epoch in
                    if report != nil {
                        histories.withLock { $0[member].append(epoch) }
                        // Network 1's epochs pace the page's refreshes.
                        if member == 0 { writeReport(finished: false) }
                    }
                    let report = epoch
                    // Many short epochs: a line every tenth epoch is plenty.
                    guard report.epoch % 10 == 0 || report.epoch == report.epochs else { return }
                    printing.withLock { _ in progress.epoch(report, extra: ensemble > 1 ? "  (network \(member + 1))" : "") }
                }, onDataWarnings: Console.warnings, onWarning: { Console.error("warning: \($0)") },
                shouldStop: { Interrupt.isRequested })
            writeReport(finished: true)
            if json {
                var result: [String: Any] = ["output": output, "saved": outcome.saved, "epochs": outcome.summaries.map(\.epochsCompleted),
                                             "best_epochs": outcome.summaries.map { $0.bestEpoch ?? $0.epochsCompleted },
                                             "seconds": outcome.seconds, "features": outcome.pipeline.featureCount]
                if let metrics = outcome.validationMetrics {
                    result["validation"] = ["count": metrics.count, "rmse": metrics.rmse, "mae": metrics.mae,
                                            "r2": metrics.r2, "rmsle": metrics.rmsle]
                }
                try Console.output(Console.json(result))
            } else {
                if let metrics = outcome.validationMetrics { try Console.output("validation: \(metrics.formatted)") }
                let best = outcome.summaries.map { String($0.bestEpoch ?? $0.epochsCompleted) }.joined(separator: ", ")
                if outcome.saved {
                    try Console.output(String(format: "trained %d network(s) in %.1f s (best epochs: %@); model saved to %@",
                                 outcome.summaries.count, outcome.seconds, best, output))
                }
            }
            if outcome.summaries.contains(where: { $0.stopReason == .interrupted }) {
                Console.error(Interrupt.trainingStopped(saved: outcome.saved, output: output,
                                                        epochsCompleted: outcome.summaries.map(\.epochsCompleted).max() ?? 0,
                                                        epochs: epochs))
                throw ExitCode(Interrupt.exitStatus)
            }
        }
    }

    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every row of a CSV back with a predicted_<target> column.",
            discussion: "The target column may be absent. Categories the model never saw use its unknown bucket (with a warning).")

        @Argument(help: ArgumentHelp("CSV of houses to price.", valueName: "csv"))
        var csv: String

        @OptionGroup var model: ModelOptions

        @Option(help: ArgumentHelp("Write here instead of stdout (replaced atomically).", valueName: "out.csv"))
        var output: String?

        @OptionGroup var dialect: CSVDialectOptions

        @OptionGroup var threads: ThreadOptions

        func run() throws {
            let modelPath = try model.path()
            if let output {
                try OutputCheck.requireDistinct(output, option: "--output", from: [csv, modelPath])
                try OutputCheck.requireWritable(output, option: "--output")
            }
            let predictor = try HousePricePredictor(contentsOf: modelPath)
            // Read, priced and written a chunk at a time: memory does not grow with the file.
            var reader = try CSVReader(name: csv, source: try CSVFileSource(path: csv), delimiter: dialect.delimiter.byte,
                                       decimalSeparator: dialect.decimal.separator)
            let writer = try ResultWriter(path: output)
            // Written in the input's dialect (encoding, delimiter, decimal separator), with its fields as they were.
            let input = reader.dialect
            // A UTF-8 line goes to the writer as it is (no array per row); only Windows-1252 is re-encoded.
            func write(_ line: String) throws {
                if input.encoding == .utf8 { try writer.write(line) } else { try writer.write(bytes: input.encoding.encode(line)) }
            }
            try write(CSVWriter.line(reader.header + [predictor.pipeline.predictionColumn], delimiter: input.delimiter))
            var rows = 0
            let warnings = try predictor.predict(&reader, threads: threads.threads) { chunk, prices in
                rows += prices.count
                for (row, price) in zip(chunk.rows, prices) {
                    try write(HousePricePredictor.pricedLine(row, price: price, dialect: input))
                }
            }
            guard rows > 0 else { throw HousePriceError.notEnoughData(file: csv, reason: "has a header but no data rows") }
            try writer.finish()
            Console.warnings(warnings)
        }
    }

    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "RMSE, MAE, R² and RMSLE of a model on a CSV that has the target column.")

        @Argument(help: ArgumentHelp("CSV with the target column.", valueName: "csv"))
        var csv: String

        @OptionGroup var model: ModelOptions

        @Flag(help: "Print one JSON object: count, rmse, mae, r2, rmsle.")
        var json = false

        @Option(help: ArgumentHelp("Also write an HTML report (predicted against actual, residuals, error by decile, "
                                   + "permutation importance of each column) here. Reads the whole file into memory.",
                                   valueName: "file.html"))
        var report: String?

        @Flag(help: "In the report, plot predicted against actual on logarithmic axes.")
        var logAxes = false

        @OptionGroup var dialect: CSVDialectOptions

        @OptionGroup var threads: ThreadOptions

        func run() throws {
            let modelPath = try model.path()
            if let report {
                try OutputCheck.requireDistinct(report, option: "--report", from: [csv, modelPath])
                try OutputCheck.requireWritable(report, option: "--report")
            }
            let predictor = try HousePricePredictor(contentsOf: modelPath)
            let metrics: RegressionMetrics, warnings: [String]
            if let report {
                // One evaluation for the report and the printed figures, so that they agree.
                let (evaluation, evaluationWarnings) = try predictor.evaluateInDetail(try readCSV(csv, delimiter: dialect.delimiter.byte,
                                                                                                  decimalSeparator: dialect.decimal.separator),
                                                                                      name: csv, importance: true,
                                                                                      threads: threads.threads)
                (metrics, warnings) = (evaluation.metrics, evaluationWarnings)
                let html = HousePriceReports.evaluation(evaluation, target: predictor.pipeline.target, model: modelPath,
                                                        data: csv, logAxes: logAxes)
                try FileIO.writeAtomically(Array(html.utf8), to: report)
            } else {
                var reader = try CSVReader(name: csv, source: try CSVFileSource(path: csv), delimiter: dialect.delimiter.byte,
                                           decimalSeparator: dialect.decimal.separator)
                (metrics, warnings) = try predictor.evaluate(&reader, threads: threads.threads)
            }
            Console.warnings(warnings)
            if json {
                try Console.output(try MetadataJSON.encode(metrics))
            } else {
                try Console.output(metrics.formatted)
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model file: task, layers with output shapes and parameters, preprocessing, metrics.")

        @Argument(help: ArgumentHelp(HousePrice.modelHelp, valueName: "model"))
        var model: String?

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            try ModelInspection.printReport(path: try chooseModel(given: model, HousePrice.modelChoice), json: json)
        }
    }

    struct Split: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Split a CSV into seeded random training and test files (rows shuffled, header kept).")

        @Argument(help: ArgumentHelp("CSV to split.", valueName: "csv"))
        var csv: String

        @Option(help: "Share of rows for the test file.")
        var testFraction = 0.2

        @Option(help: "Seed of the shuffle.")
        var seed: UInt64 = 42

        @Option(help: "Training rows go here.")
        var trainOutput: String

        @Option(help: "Test rows go here.")
        var testOutput: String

        @OptionGroup var dialect: CSVDialectOptions

        func validate() throws {
            guard testFraction > 0, testFraction < 1 else { throw ValidationError("--test-fraction must be in (0, 1)") }
        }

        func run() throws {
            try OutputCheck.requireDistinct(trainOutput, option: "--train-output", from: [csv])
            try OutputCheck.requireDistinct(testOutput, option: "--test-output", from: [csv, trainOutput])
            try OutputCheck.requireWritable(trainOutput, option: "--train-output")
            try OutputCheck.requireWritable(testOutput, option: "--test-output")
            let table = try readCSV(csv, delimiter: dialect.delimiter.byte, decimalSeparator: dialect.decimal.separator)
            var random = RandomGenerator(seed: seed)
            var rows = Array(table.rows.indices)
            rows.shuffle(using: &random)
            let testCount = Int((Double(rows.count) * testFraction).rounded())
            // Both files keep the source's encoding, delimiter and fields as they were.
            func line(_ fields: [String]) -> String { CSVWriter.line(fields, delimiter: table.dialect.delimiter) }
            let header = line(table.header)
            // Both files keep the shuffled order: a file sorted like its source carries the source's
            // order (by region, by date) into whatever reads it next.
            let test = rows[..<testCount], train = rows[testCount...]
            let encoding = table.dialect.encoding
            try FileIO.writeAtomically(encoding.encode(header + train.map { line(table.rows[$0]) }.joined()), to: trainOutput)
            try FileIO.writeAtomically(encoding.encode(header + test.map { line(table.rows[$0]) }.joined()), to: testOutput)
            try Console.output("\(train.count) training rows → \(trainOutput), \(test.count) test rows → \(testOutput)")
        }
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the model over HTTP: a JSON/CSV API and a page with a form to price a house.",
            discussion: """
            Routes: GET / (the page), POST /v1/predict (application/json: an array of row objects; \
            text/csv: streamed, any size), GET /v1/model (with the input schema), /healthz, /readyz, \
            /metrics. One model, loaded at start, serves every request. Bad input gets a 4xx with \
            {"error": ...}. SIGTERM or Ctrl-C lets the requests in flight finish, then exits 0. See \
            README.md, "Serving".
            """)

        @OptionGroup var model: ModelOptions
        @OptionGroup var serve: ServeOptions
        @OptionGroup var threads: ThreadOptions

        func run() throws {
            let predictor = try HousePricePredictor(contentsOf: try model.path())
            try ServeOptions.run(HousePriceService.server(predictor: predictor, configuration: serve.configuration,
                                                          threads: threads.threads), name: "house-price")
        }
    }
}
