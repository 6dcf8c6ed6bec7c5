import ArgumentParser
import Dispatch
import Foundation
import Logging
import ModelServer

/// The options of `digits serve` and `house-price serve`, and running a server from a command.
public struct ServeOptions: ParsableArguments {
    @Option(help: "Address to listen on (loopback by default; 0.0.0.0 for every interface).")
    public var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed at start).")
    public var port = 8080

    @Option(help: "Largest request body, in megabytes.")
    public var maxBodyMB = 16

    @Option(help: "Seconds a request may take to arrive and be answered (slower clients get 408).")
    public var timeout = 30.0

    @Option(help: "Most inputs in one forward pass: those of concurrent requests that arrive while a pass runs go into the next.")
    public var maxBatch = 32

    @Option(help: "Milliseconds an input that finds the network idle waits for others (0: none; batches then form under load).")
    public var maxWaitMs = 0.0

    @Option(help: "Most rows of a JSON request (CSV requests stream any number).")
    public var maxRows = 10_000

    public init() {}

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard maxBodyMB >= 1, maxBodyMB <= 4096 else { throw ValidationError("--max-body-mb must be 1...4096") }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be positive") }
        guard maxBatch >= 1, maxBatch <= 4096 else { throw ValidationError("--max-batch must be 1...4096") }
        guard maxWaitMs >= 0, maxWaitMs <= 1000 else { throw ValidationError("--max-wait-ms must be 0...1000") }
        guard maxRows >= 1 else { throw ValidationError("--max-rows must be at least 1") }
    }

    public var configuration: ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maximumBodyBytes = maxBodyMB << 20
        configuration.requestTimeout = timeout
        configuration.idleTimeout = max(timeout, 60)
        configuration.maximumBatch = maxBatch
        configuration.maximumBatchWait = maxWaitMs / 1000
        configuration.maximumRows = maxRows
        return configuration
    }

    /// Runs `server` until SIGTERM or SIGINT, logging to stderr; prints "listening on http://..."
    /// there once bound. Returns when the server has shut down (in-flight requests finished).
    public static func run(_ server: ModelServer, name: String) throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: name)
        logger.logLevel = .info
        let finished = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox()
        Task {
            do {
                try await server.run(logger: logger) { address in
                    Console.error("\(name): listening on http://\(address) (Ctrl-C or SIGTERM to stop)")
                }
            } catch {
                outcome.error = error
            }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { throw CommandLineError("cannot serve: \(error)") }
        Console.error("\(name): stopped")
    }
}

/// The server task's error, read after the semaphore says it finished.
private final class OutcomeBox: @unchecked Sendable {
    var error: (any Error)?
}
