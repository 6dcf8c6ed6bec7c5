import StrictCSV

/// Why the house-price app could not do what was asked, naming the file and, where there is one,
/// the line, column and value. Its description is one line a person can act on.
public enum HousePriceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Which field of a row a bad value is in.
    public enum Field: Equatable, Sendable {
        case column(String)
        case target(String)
    }

    /// A file that could not be opened or read.
    case unreadable(path: String, reason: String)
    /// A file that is not valid CSV (the reader's error names line and column).
    case malformedCSV(CSVError)
    /// A column the operation needs is not in the file.
    case missingColumn(file: String, column: String, reason: String)
    /// One cell that cannot be used, at `line` (1-based, as editors count) of `file`.
    case badValue(file: String, line: Int, field: Field, value: String, reason: String)
    /// A column whose values cannot be given one type (or that an option names wrongly); the
    /// reason quotes lines and values and says which option unblocks it.
    case columnType(file: String, column: String, reason: String)
    /// The file has too little usable data for the operation.
    case notEnoughData(file: String, reason: String)
    /// The model's price for the row at `line` is not a finite number (a value far beyond anything
    /// seen in training).
    case nonFinitePrediction(file: String, line: Int)
    /// A model file that cannot be used as a price model.
    case invalidModel(file: String, reason: String)
    /// A checkpoint that does not belong to the run being resumed.
    case checkpointMismatch(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): \(reason)"
        case let .malformedCSV(error): error.description
        case let .missingColumn(file, _, reason): "\(file): \(reason)"
        case let .badValue(file, line, field, _, reason):
            switch field {
            case let .column(name): "\(file):\(line): column \"\(name)\": \(reason)"
            case let .target(name): "\(file):\(line): target \"\(name)\": \(reason)"
            }
        case let .columnType(file, column, reason): "\(file): column \"\(column)\" \(reason)"
        case let .notEnoughData(file, reason): "\(file): \(reason)"
        case let .nonFinitePrediction(file, line):
            "\(file):\(line): the predicted price is not a finite number; are the row's values far beyond the training data's?"
        case let .invalidModel(file, reason): "\(file): \(reason)"
        case let .checkpointMismatch(file, reason): "\(file): \(reason)"
        }
    }
}
