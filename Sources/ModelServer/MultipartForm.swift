import MultipartKit
import NIOCore

/// The parts of a `multipart/form-data` body (RFC 7578), read with MultipartKit's parser.
public enum MultipartForm {
    public struct Part: Sendable {
        /// The part's file name, or its field name when it has none.
        public let name: String
        public let bytes: [UInt8]
    }

    /// Every part of `body`, whose `contentType` header names the boundary.
    /// - Throws: `ClientError` (400) for a missing or malformed boundary or body.
    public static func files(_ body: [UInt8], contentType: String) throws -> [Part] {
        guard let boundary = boundary(contentType) else {
            throw ClientError.badRequest("multipart/form-data needs a boundary of 1 to 70 characters in its Content-Type")
        }
        let parser = MultipartParser(boundary: boundary)
        var parts: [Part] = []
        var name = "", bytes: [UInt8] = []
        parser.onHeader = { field, value in
            guard field.lowercased() == "content-disposition" else { return }
            name = parameter("filename", in: value) ?? parameter("name", in: value) ?? name
        }
        parser.onBody = { buffer in bytes += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        parser.onPartComplete = {
            parts.append(Part(name: name.isEmpty ? "part \(parts.count + 1)" : name, bytes: bytes))
            (name, bytes) = ("", [])
        }
        do {
            try parser.execute(body)
        } catch {
            throw ClientError.badRequest("the multipart/form-data body is malformed")
        }
        return parts
    }

    /// The `boundary` parameter of a Content-Type header, if it is valid (RFC 2046: 1-70 characters).
    static func boundary(_ contentType: String) -> String? {
        guard let value = parameter("boundary", in: contentType), (1...70).contains(value.count) else { return nil }
        return value
    }

    /// `key=value` or `key="value"` among a header's `;`-separated parameters.
    static func parameter(_ key: String, in header: String) -> String? {
        for item in header.split(separator: ";").dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \t") }
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }
}

private extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
