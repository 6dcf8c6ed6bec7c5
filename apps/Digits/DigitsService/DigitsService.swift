import DigitsKit
import Foundation
import Hummingbird
import ModelFile
import ModelServer
import PNGCodec

/// `digits serve`: the digit model over HTTP (see `ModelServer` for the routes every server has).
///
/// - `GET /`: a page to draw a digit on, or drop a PNG (`DigitsPage`);
/// - `POST /v1/classify?top=K&input=1`: a body of `image/png` (one image) answers one result;
///   `multipart/form-data` (several images) answers `{"results": [...]}` with a result or an error
///   per file. A result is `{"label", "confidence", "top": [{"label", "p"}], "uncertain",
///   "doubts"}`, plus `"input"` (the 28×28 image the network saw, row-major, 0-1) when asked.
///   Images are decoded and normalised exactly as `digits classify` does; the network's part of
///   concurrent requests is batched (`InferenceBatcher`).
public enum DigitsService {
    /// The server for `classifier`, its network shared by all requests.
    public static func server(classifier: DigitClassifier, configuration: ServerConfiguration, threads: Int) -> ModelServer {
        let report = ModelReport(ModelFile.Loaded(network: classifier.network, metadata: classifier.metadata))
        return ModelServer(configuration: configuration, routes: ["/", "/v1/classify"], modelDescription: {
            var description = report.dictionary
            description["input"] = ["type": "image/png",
                                    "description": "any PNG (gray, RGB, palette, alpha, 1-16 bits, interlaced), "
                                        + "normalised like MNIST into 28×28 (README.md, Digits)",
                                    "maximum_dimension": PNGDecoder.maximumDimension, "maximum_pixels": PNGDecoder.maximumPixels,
                                    "maximum_bytes": configuration.maximumBodyBytes] as [String: Any]
            description["confidence_threshold"] = Double("\(DigitClassifier.confidenceThreshold)")!
            return description
        }) { router, server in
            let batcher = InferenceBatcher<DigitNormalizer.NormalizedDigit, DigitClassifier.Classification>(
                maximumBatch: configuration.maximumBatch, maximumWait: configuration.maximumBatchWait,
                onBatch: server.metrics.recordBatch) { digits in
                classifier.classify(prepared: digits, threads: threads)
            }
            router.get("/") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                         body: ResponseBody(byteBuffer: ByteBuffer(string: DigitsPage.html)))
            }
            router.post("/v1/classify") { request, _ in
                try await classify(request, classifier: classifier, batcher: batcher, configuration: configuration)
            }
        }
    }

    static func classify(_ request: Request, classifier: DigitClassifier,
                         batcher: InferenceBatcher<DigitNormalizer.NormalizedDigit, DigitClassifier.Classification>,
                         configuration: ServerConfiguration) async throws -> Response {
        let top = try request.uri.queryParameters.get("top").map { text -> Int in
            guard let k = Int(text), k >= 1 else { throw ClientError.badRequest("top must be a whole number from 1") }
            return min(k, classifier.metadata.labels.count)
        } ?? 3
        let withInput = ["1", "true"].contains(request.uri.queryParameters.get("input") ?? "")
        let contentType = request.headers[.contentType] ?? ""
        let body = try await collect(request, limit: configuration.maximumBodyBytes)
        /// One image's answer, or why there is none.
        func answer(_ name: String, _ bytes: [UInt8]) async -> Result<DigitClassifier.Classification, ImageError> {
            do throws(ImageError) {
                return .success(await batcher.submit(try await prepare(bytes, name: name, classifier: classifier)))
            } catch {
                return .failure(error)
            }
        }
        func record(_ outcome: Result<DigitClassifier.Classification, ImageError>, file: String?) -> [String: Any] {
            var record: [String: Any] = file.map { ["file": $0] } ?? [:]
            switch outcome {
            case let .success(result):
                record["label"] = result.label
                record["confidence"] = Double(result.confidence)
                record["top"] = result.ranking.prefix(top).map { ["label": $0.label, "p": Double($0.probability)] }
                record["uncertain"] = result.uncertain
                record["doubts"] = result.doubts
                if withInput { record["input"] = result.input.map { Double($0) } }
            case let .failure(error):
                record["error"] = error.description
            }
            return record
        }
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            let parts = try MultipartForm.files(body, contentType: contentType)
            guard !parts.isEmpty else { throw ClientError.badRequest("the form holds no file") }
            guard parts.count <= configuration.maximumRows else {
                throw ClientError(.contentTooLarge, "\(parts.count) files; at most \(configuration.maximumRows) per request")
            }
            let outcomes = await withTaskGroup(of: (Int, Result<DigitClassifier.Classification, ImageError>).self) { group in
                for (index, part) in parts.enumerated() { group.addTask { (index, await answer(part.name, part.bytes)) } }
                var outcomes = [Result<DigitClassifier.Classification, ImageError>?](repeating: nil, count: parts.count)
                for await (index, outcome) in group { outcomes[index] = outcome }
                return outcomes.map { $0! }
            }
            return JSONResponse.make(["results": zip(parts, outcomes).map { record($1, file: $0.name) }])
        }
        let type = contentType.lowercased()
        guard type.isEmpty || type.hasPrefix("image/png") || type.hasPrefix("application/octet-stream") else {
            throw ClientError(.unsupportedMediaType, "send image/png (one image) or multipart/form-data (several), not \(contentType)")
        }
        switch await answer("image", body) {
        case let .success(result): return JSONResponse.make(record(.success(result), file: nil))
        case let .failure(error): throw ClientError(HTTPResponse.Status(code: error.status), error.description)
        }
    }

    /// The request's body, refused with 413 above `limit` bytes.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        do {
            return Array(buffer: try await request.body.collect(upTo: limit))
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw ClientError(.contentTooLarge, "the body is larger than \(limit) bytes")
        }
    }

    /// Decoding and normalising, off the server's threads: a 12-megapixel photo takes a tenth of
    /// a second of CPU.
    static func prepare(_ bytes: [UInt8], name: String, classifier: DigitClassifier) async throws(ImageError) -> DigitNormalizer.NormalizedDigit {
        let result: Result<DigitNormalizer.NormalizedDigit, DigitsError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { () throws(DigitsError) in try classifier.prepare(pngData: bytes, name: name) })
            }
        }
        switch result {
        case let .success(digit): return digit
        case let .failure(error):
            // The decoder's size limit is "too large" (413); no digit in the picture is 422; any
            // other decoding failure is a bad request.
            if case let .invalidImage(_, reason) = error, reason.contains("limit") {
                throw ImageError(status: 413, description: "\(name): \(reason)")
            }
            if case .noDigitFound = error { throw ImageError(status: 422, description: "\(name): \(error.reason)") }
            throw ImageError(status: 400, description: error.description)
        }
    }

    struct ImageError: Error, Sendable {
        let status: Int
        let description: String
    }
}
