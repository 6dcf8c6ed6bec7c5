import Hummingbird
import Prometheus

/// The server's Prometheus metrics, served at `/metrics` in the text exposition format:
/// `backprop_http_requests_total{route,status}`, `backprop_http_request_duration_seconds{route}`
/// (histogram), `backprop_http_requests_in_flight`, and `backprop_inference_batch_size` (how many
/// inputs each forward pass took).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let inFlight: Gauge
    let batchSizes: ValueHistogram

    static let durationBuckets: [Duration] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }

    public init() {
        inFlight = registry.makeGauge(descriptor: .init(namespace: "backprop", subsystem: "http", metricName: "requests",
                                                        unitName: "in_flight", helpText: "Requests being handled"))
        batchSizes = registry.makeValueHistogram(
            descriptor: .init(namespace: "backprop", subsystem: "inference", metricName: "batch", unitName: "size",
                              helpText: "Inputs per forward pass"),
            labels: [], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256])
    }

    func requestFinished(route: String, status: Int, seconds: Duration) {
        registry.makeCounter(descriptor: .init(namespace: "backprop", subsystem: "http", metricName: "requests", unitName: "total",
                                               helpText: "Requests answered, by route and status"),
                             labels: [("route", route), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: .init(namespace: "backprop", subsystem: "http", metricName: "request_duration",
                                                         unitName: "seconds", helpText: "Time to answer, by route"),
                                       labels: [("route", route)], buckets: Self.durationBuckets).record(seconds)
    }

    /// Records one forward pass of `size` inputs.
    public func recordBatch(size: Int) { batchSizes.record(Double(size)) }

    /// The exposition text.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// Counts and times every request by its route (the path for known routes, "other" otherwise, so
/// that scanning for random paths cannot grow the label set) and status.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let routes: Set<String>

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock()
        let started = clock.now
        let route = routes.contains(request.uri.path) ? request.uri.path : "other"
        metrics.inFlight.increment()
        defer { metrics.inFlight.decrement() }
        do {
            let response = try await next(request, context)
            metrics.requestFinished(route: route, status: response.status.code, seconds: clock.now - started)
            return response
        } catch {
            let status = (error as? ClientError)?.status.code ?? (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.requestFinished(route: route, status: status, seconds: clock.now - started)
            throw error
        }
    }
}
