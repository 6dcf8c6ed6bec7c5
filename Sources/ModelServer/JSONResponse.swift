import Foundation
import Hummingbird

/// JSON responses with sorted keys, so that answers are stable and diffable.
public enum JSONResponse {
    /// `object` (dictionaries, arrays, strings, numbers, bools, NSNull) as a JSON response.
    public static func make(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"error": message}`.
    public static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        make(["error": message], status: status)
    }
}
