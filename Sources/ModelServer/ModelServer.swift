import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// An HTTP/1.1 server for one model, shared by every request and fixed at start:
///
/// - `GET /healthz` (the process answers), `GET /readyz` (the model is loaded and the server is
///   not shutting down: 503 once SIGTERM or SIGINT arrived), `GET /metrics` (Prometheus text),
///   `GET /v1/model` (what `modelDescription` returns), and the application's own routes;
/// - every answer to bad input is a 4xx with `{"error": ...}`; requests are bounded in size and
///   time (`ServerConfiguration`); no route reads or writes a file the client names;
/// - SIGTERM and SIGINT stop accepting connections, let the requests in flight finish, then the
///   server returns (the tool exits 0).
///
/// It keeps no state between requests, so replicas can run side by side behind a load balancer.
public struct ModelServer: Sendable {
    public typealias Router = Hummingbird.Router<BasicRequestContext>

    public let configuration: ServerConfiguration
    public let metrics = ServerMetrics()
    private let modelDescription: @Sendable () -> [String: Any]
    private let addRoutes: @Sendable (Router, ModelServer) -> Void
    /// Paths the application serves, for the metrics' route label.
    private let routes: Set<String>

    /// - Parameters:
    ///   - routes: the application's paths (e.g. `["/", "/v1/classify"]`).
    ///   - modelDescription: the body of `GET /v1/model`.
    ///   - addRoutes: registers the application's handlers.
    public init(configuration: ServerConfiguration, routes: Set<String>,
                modelDescription: @escaping @Sendable () -> [String: Any],
                addRoutes: @escaping @Sendable (Router, ModelServer) -> Void) {
        self.configuration = configuration
        self.routes = routes.union(["/healthz", "/readyz", "/metrics", "/v1/model"])
        self.modelDescription = modelDescription
        self.addRoutes = addRoutes
    }

    /// The router with every route and middleware, for `run` and for tests.
    public func router(readiness: Readiness) -> Router {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics, routes: routes))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: DeadlineMiddleware(seconds: configuration.requestTimeout))
        router.get("/healthz") { _, _ in JSONResponse.make(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            readiness.isReady ? JSONResponse.make(["status": "ready"])
                              : JSONResponse.make(["status": "shutting down"], status: .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        let description = modelDescription
        router.get("/v1/model") { _, _ in JSONResponse.make(description()) }
        addRoutes(router, self)
        return router
    }

    /// Serves until SIGTERM or SIGINT, then finishes the requests in flight and returns.
    /// `onListening` hears the bound address ("127.0.0.1:8080"), which tells the port when the
    /// configuration asked for 0.
    public func run(logger: Logger, onListening: @escaping @Sendable (String) -> Void) async throws {
        let readiness = Readiness()
        let application = Application(
            router: router(readiness: readiness),
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(configuration.idleTimeout * 1e9)))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "backprop"),
            services: [ShutdownWatcher(readiness: readiness)],
            onServerRunning: { channel in
                let address = channel.localAddress
                onListening("\(address?.ipAddress ?? "?"):\(address?.port ?? 0)")
            },
            logger: logger)
        try await application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

/// Whether the server takes new work: false once a graceful shutdown began.
public final class Readiness: Sendable {
    private let ready = Atomic<Bool>(true)
    public init() {}
    public var isReady: Bool { ready.load(ordering: .relaxed) }
    func shutdownBegan() { ready.store(false, ordering: .relaxed) }
}

/// Marks the server not ready as soon as a graceful shutdown starts.
private struct ShutdownWatcher: Service {
    let readiness: Readiness

    func run() async throws {
        try? await gracefulShutdown()
        readiness.shutdownBegan()
    }
}
