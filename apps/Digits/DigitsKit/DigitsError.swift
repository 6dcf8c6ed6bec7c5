/// A user-facing failure of the digit app, with the file or field it concerns.
public struct DigitsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
