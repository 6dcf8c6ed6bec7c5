import Hummingbird
import Logging

/// Every failure becomes a JSON `{"error": ...}` response: the client's mistakes (a `ClientError`,
/// or Hummingbird's own 4xx such as a body over the limit) keep their status and message; anything
/// else is a 500 whose details go to the log, not to the client. Bad input never gets a 5xx.
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ClientError {
            return JSONResponse.error(error.message, status: error.status)
        } catch let error as any HTTPResponseError where (400..<500).contains(error.status.code) {
            // Hummingbird's own refusals (a body over the limit, a bad request line).
            let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase.lowercased()
            return JSONResponse.error(message, status: error.status)
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return JSONResponse.error("internal error", status: .internalServerError)
        }
    }
}
