/// A user-facing failure of the house-price app, naming the file, line, column or value concerned.
public struct HousePriceError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
