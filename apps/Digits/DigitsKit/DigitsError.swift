/// Why the digit app could not do what was asked, with the file or folder it concerns. Its
/// description is one line a person can act on: `location: reason`.
public enum DigitsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file or folder that could not be opened or read.
    case unreadable(path: String, reason: String)
    /// A data file (IDX, gzip) whose contents are not what they must be.
    case invalidData(file: String, reason: String)
    /// A folder of labelled images that cannot be used.
    case invalidFolder(path: String, reason: String)
    /// A PNG that could not be decoded.
    case invalidImage(file: String, reason: String)
    /// An image in which there is no digit to read.
    case noDigitFound(reason: String)
    /// A model file that cannot be used as a digit classifier.
    case invalidModel(file: String, reason: String)
    /// A checkpoint that does not belong to the run being resumed.
    case checkpointMismatch(file: String, reason: String)
    /// A request the model or data cannot serve.
    case unsupported(reason: String)

    /// The file or folder concerned, if any.
    public var location: String? {
        switch self {
        case let .unreadable(path, _), let .invalidFolder(path, _): path
        case let .invalidData(file, _), let .invalidImage(file, _), let .invalidModel(file, _),
             let .checkpointMismatch(file, _): file
        case .noDigitFound, .unsupported: nil
        }
    }

    /// What is wrong, without the location.
    public var reason: String {
        switch self {
        case let .unreadable(_, reason), let .invalidData(_, reason), let .invalidFolder(_, reason),
             let .invalidImage(_, reason), let .invalidModel(_, reason), let .checkpointMismatch(_, reason),
             let .unsupported(reason): reason
        case let .noDigitFound(reason): "no digit found: \(reason)"
        }
    }

    public var description: String { location.map { "\($0): \(reason)" } ?? reason }
}
