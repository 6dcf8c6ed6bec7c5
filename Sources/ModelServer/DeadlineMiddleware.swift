import Hummingbird

/// Bounds the whole request, body reading included, by `seconds`: a client that trickles its body
/// slower than that (slow-loris) gets 408 and its task is cancelled, instead of holding a
/// connection and memory for as long as it likes.
public struct DeadlineMiddleware<Context: RequestContext>: RouterMiddleware {
    let seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        let deadline = seconds
        return try await withoutActuallyEscaping(next) { next in
            let work = UnsafeSendable(value: (next, request, context))
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await work.value.0(work.value.1, work.value.2) }
                group.addTask {
                    try await Task.sleep(for: .seconds(deadline))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw ClientError(.requestTimeout, "the request was not received and answered within \(deadline) s")
                }
                return response
            }
        }
    }
}

/// Lets the handler and its request cross into the task group that races them against the clock:
/// the group ends before this function returns, so nothing outlives the call.
private struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
}
