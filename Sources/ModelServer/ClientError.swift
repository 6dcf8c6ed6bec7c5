import HTTPTypes

/// A request the server cannot serve because of what the client sent (4xx), with the message the
/// client gets back as `{"error": message}`.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    public static func badRequest(_ message: String) -> ClientError { ClientError(.badRequest, message) }
}
