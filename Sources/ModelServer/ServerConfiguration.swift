/// How a model server listens and what it accepts. Every limit bounds what one request can cost.
public struct ServerConfiguration: Sendable {
    /// The address to bind: loopback unless the user says otherwise.
    public var host = "127.0.0.1"
    /// 0 picks a free port (the server prints the one it got).
    public var port = 8080
    /// Largest request body, in bytes (a bigger one is answered 413 before it is all read).
    public var maximumBodyBytes = 16 << 20
    /// A request must arrive and be answered within this many seconds (a client that sends its
    /// body byte by byte is cut off with 408), and a connection idle this long is closed.
    public var requestTimeout: Double = 30
    public var idleTimeout: Double = 60
    /// Inputs that arrive while a forward pass runs go together into the next one, at most this
    /// many; with `maximumBatchWait` above 0, an input that finds the network idle waits up to that
    /// many seconds for company (see `InferenceBatcher`).
    public var maximumBatch = 32
    public var maximumBatchWait: Double = 0
    /// Most rows of a JSON body (a CSV body is streamed and may have any number).
    public var maximumRows = 10_000

    public init() {}
}
