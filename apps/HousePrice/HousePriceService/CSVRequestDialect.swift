import Foundation
import Hummingbird
import ModelServer
import StrictCSV

/// What a CSV request says about its body's dialect, where it does not leave it to the body's
/// first records: the `delimiter` and `decimal` query parameters, and the content type's `charset`.
struct CSVRequestDialect {
    var delimiter: UInt8?
    var decimalSeparator: DecimalSeparator?
    var encoding: CSVEncoding?

    /// Reads them from `request`; an unknown value is the client's error (400, or 415 for a charset).
    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        if let name = query.get("delimiter"), name != "auto" {
            guard let byte = CSVDialect.delimiter(named: name) else {
                throw ClientError.badRequest("delimiter must be auto, comma, semicolon, tab or bar, not \"\(name)\"")
            }
            delimiter = byte
        }
        if let name = query.get("decimal"), name != "auto" {
            guard let separator = DecimalSeparator(rawValue: name) else {
                throw ClientError.badRequest("decimal must be auto, point or comma, not \"\(name)\"")
            }
            decimalSeparator = separator
        }
        let parameters = (request.headers[.contentType] ?? "").split(separator: ";").dropFirst()
        for parameter in parameters {
            let parts = parameter.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "charset" else { continue }
            let charset = parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard let named = CSVEncoding(charset: charset) else {
                throw ClientError(.unsupportedMediaType, "charset \(charset) is not read; send utf-8 or windows-1252")
            }
            encoding = named
        }
    }
}
