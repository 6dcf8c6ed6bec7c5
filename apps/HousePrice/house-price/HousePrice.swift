import ArgumentParser
import Backprop
import CommandLineSupport
import Foundation
import HousePriceKit
import ModelFile
import TabularData

@main
struct HousePrice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "house-price",
        abstract: "Train, run and evaluate a house-price regressor from CSV files.",
        version: BackpropVersion.current,
        subcommands: [Train.self, Predict.self, Evaluate.self, Inspect.self, Split.self])

    static let shippedModel = "data/models/house-price.safetensors"
}

struct ModelOption: ParsableArguments {
    @Option(help: ArgumentHelp("Model file.", valueName: "model"))
    var model: String = HousePrice.shippedModel

    var path: String { model == HousePrice.shippedModel ? DefaultPaths.resolve(model) : model }
}

struct ThreadOption: ParsableArguments {
    @Option(help: "Threads for the numeric kernels (default: all processors).")
    var threads: Int = ExecutionContext.availableProcessors

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }
}

extension HousePrice {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a model from a CSV of house sales (any columns; one numeric target).",
            discussion: """
            Column types are inferred (numeric or categorical). Missing values (empty, NA) are \
            imputed; categories are one-hot encoded with an unknown bucket; everything is fitted \
            on the training rows and saved in the model. The shipped model came from: \
            house-price train data/california-housing/housing.csv --target median_house_value \
            --output data/models/house-price.safetensors
            """)

        @Argument(help: ArgumentHelp("Training CSV.", valueName: "csv"))
        var csv: String

        @Option(help: "The column to predict.")
        var target: String

        @Option(help: ArgumentHelp("Comma-separated columns to ignore (ids, leaks).", valueName: "c1,c2"))
        var drop: String?

        @Flag(help: "Train on log(target): for skewed prices.")
        var logTarget = false

        @Option(help: "Maximum passes over the training rows (early stopping may end sooner).")
        var epochs = HousePriceOptions(target: "").epochs

        @Option(help: "Rows per optimizer step.")
        var batchSize = HousePriceOptions(target: "").batchSize

        @Option(help: "Peak learning rate (AdamW with a cosine schedule).")
        var learningRate = HousePriceOptions(target: "").learningRate

        @Option(help: ArgumentHelp("Hidden layer widths.", valueName: "256,256"))
        var hidden = "256,256"

        @Option(help: "Seed for the validation split, initialisation and shuffling.")
        var seed = HousePriceOptions(target: "").seed

        @Option(help: "Share of rows held out for validation (early stopping and the reported metrics).")
        var validation = HousePriceOptions(target: "").validation

        @OptionGroup var threads: ThreadOption

        @Option(help: ArgumentHelp("Where to write the model.", valueName: "model"))
        var output = "house-price.safetensors"

        @Flag(help: "Continue the interrupted run whose checkpoint is next to --output.")
        var resume = false

        @Flag(help: "Print the validation metrics as one JSON object.")
        var json = false

        func validate() throws {
            guard epochs >= 1, batchSize >= 1 else { throw ValidationError("--epochs and --batch-size must be at least 1") }
            guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
            guard validation >= 0, validation < 0.9 else { throw ValidationError("--validation must be in [0, 0.9)") }
            guard hiddenWidths != nil else { throw ValidationError("--hidden must be comma-separated positive widths, e.g. 256,256") }
        }

        var hiddenWidths: [Int]? {
            let widths = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 65536 }) else { return nil }
            return widths.map { $0! }
        }

        func run() throws {
            var options = HousePriceOptions(target: target)
            options.drop = drop?.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty } ?? []
            options.logTarget = logTarget
            options.epochs = epochs
            options.batchSize = batchSize
            options.learningRate = learningRate
            options.hidden = hiddenWidths!
            options.seed = seed
            options.validation = validation
            Interrupt.install()
            let progress = TrainingProgress(unit: "rows")
            let outcome = try HousePriceTraining.run(
                csv: csv, options: options, output: output, threads: threads.threads, resume: resume,
                command: (["house-price"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
                onBatch: progress.batch, onEpoch: { report in
                    // With many short epochs, a line every tenth epoch (and the best ones) is plenty.
                    if Console.stderrIsTerminal || report.epoch % 10 == 0 || report.epoch == report.epochs { progress.epoch(report) }
                }, shouldStop: { Interrupt.isRequested })
            for warning in outcome.warnings { Console.error("warning: \(warning)") }
            if json {
                var result: [String: Any] = ["output": output, "epochs": outcome.summary.epochsCompleted,
                                             "best_epoch": outcome.summary.bestEpoch ?? NSNull(),
                                             "seconds": outcome.seconds, "features": outcome.pipeline.featureCount]
                if let metrics = outcome.validationMetrics {
                    result["validation"] = ["count": metrics.count, "rmse": metrics.rmse, "mae": metrics.mae,
                                            "r2": metrics.r2, "rmsle": metrics.rmsle]
                }
                print(Console.json(result))
            } else {
                if let metrics = outcome.validationMetrics { print("validation: \(metrics.formatted)") }
                print(String(format: "trained %d epochs (best %@) in %.1f s; model saved to %@", outcome.summary.epochsCompleted,
                             outcome.summary.bestEpoch.map(String.init) ?? "last", outcome.seconds, output))
            }
            if outcome.summary.stopReason == .interrupted {
                Console.error("interrupted: the model learned so far is saved; continue with the same command and --resume")
                throw ExitCode(130)
            }
        }
    }

    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every row of a CSV back with a predicted_<target> column.",
            discussion: "The target column may be absent. Categories the model never saw use its unknown bucket (with a warning).")

        @Argument(help: ArgumentHelp("CSV of houses to price.", valueName: "csv"))
        var csv: String

        @OptionGroup var model: ModelOption

        @Option(help: ArgumentHelp("Write here instead of stdout (replaced atomically).", valueName: "out.csv"))
        var output: String?

        @OptionGroup var threads: ThreadOption

        func run() throws {
            let predictor = try HousePricePredictor(contentsOf: model.path)
            let table = try readCSV(csv)
            let (prices, warnings) = try predictor.predict(table, name: csv, threads: threads.threads)
            for warning in warnings { Console.error("warning: \(warning)") }
            var text = CSVWriter.line(table.header + [predictor.pipeline.predictionColumn])
            for (row, price) in zip(table.rows, prices) {
                text += CSVWriter.line(row + [String(format: "%.2f", price)])
            }
            if let output {
                try FileIO.writeAtomically(Array(text.utf8), to: output)
            } else {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
    }

    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "RMSE, MAE, R² and RMSLE of a model on a CSV that has the target column.")

        @Argument(help: ArgumentHelp("CSV with the target column.", valueName: "csv"))
        var csv: String

        @OptionGroup var model: ModelOption

        @Flag(help: "Print one JSON object: count, rmse, mae, r2, rmsle.")
        var json = false

        @OptionGroup var threads: ThreadOption

        func run() throws {
            let predictor = try HousePricePredictor(contentsOf: model.path)
            let (metrics, warnings) = try predictor.evaluate(try readCSV(csv), name: csv, threads: threads.threads)
            for warning in warnings { Console.error("warning: \(warning)") }
            if json {
                print(String(decoding: try JSONEncoder.sorted.encode(metrics), as: UTF8.self))
            } else {
                print(metrics.formatted)
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model file: task, layers with output shapes and parameters, preprocessing, metrics.")

        @Argument(help: ArgumentHelp("Model file (default: the shipped model).", valueName: "model"))
        var model: String = HousePrice.shippedModel

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            let path = model == HousePrice.shippedModel ? DefaultPaths.resolve(model) : model
            let report = ModelReport(try ModelFile.load(contentsOf: path))
            print(json ? Console.json(report.dictionary) : report.text)
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

        func run() throws {
            guard testFraction > 0, testFraction < 1 else { throw ValidationError("--test-fraction must be in (0, 1)") }
            let table = try readCSV(csv)
            var random = RandomGenerator(seed: seed)
            var rows = Array(table.rows.indices)
            rows.shuffle(using: &random)
            let testCount = Int((Double(rows.count) * testFraction).rounded())
            let header = CSVWriter.line(table.header)
            let test = rows[..<testCount].sorted(), train = rows[testCount...].sorted()
            try FileIO.writeAtomically(Array((header + train.map { CSVWriter.line(table.rows[$0]) }.joined()).utf8), to: trainOutput)
            try FileIO.writeAtomically(Array((header + test.map { CSVWriter.line(table.rows[$0]) }.joined()).utf8), to: testOutput)
            print("\(train.count) training rows → \(trainOutput), \(test.count) test rows → \(testOutput)")
        }
    }
}
