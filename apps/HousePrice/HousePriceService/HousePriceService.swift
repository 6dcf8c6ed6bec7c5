import Foundation
import Hummingbird
import HousePriceKit
import Logging
import ModelFile
import ModelServer
import StrictCSV

/// `house-price serve`: the price model over HTTP (see `ModelServer` for the routes every server has).
///
/// - `GET /`: a form built from the model's own schema, and a CSV upload (`HousePricePage`);
/// - `POST /v1/predict`: a JSON array of row objects (column → text, number or null) answers
///   `{"predictions": [price, ...], "warnings": [...]}`; a `text/csv` body answers the same CSV
///   with a `predicted_<target>` column, streamed both ways (any size, constant memory), exactly
///   as `house-price predict` writes it. Missing values and unseen categories are handled as the
///   command line does, with the warnings in the JSON answer (or the server log for CSV). The
///   CSV's delimiter, decimal separator and encoding are told from its first records, as the
///   command line tells them, unless the request says: `?delimiter=comma|semicolon|tab|bar`,
///   `?decimal=point|comma` (the command line's `--delimiter` and `--decimal`), and the content
///   type's `charset` (`utf-8`, or `windows-1252` and the labels browsers read as it). The answer
///   is UTF-8, with the body's delimiter and decimal separator.
/// - `GET /v1/model` includes `schema`: the target and every input column with its kind, training
///   median or categories, and the location columns.
public enum HousePriceService {
    public static func server(predictor: HousePricePredictor, configuration: ServerConfiguration, threads: Int) -> ModelServer {
        let report = ModelReport(ModelFile.Loaded(network: predictor.network, metadata: predictor.metadata))
        return ModelServer(configuration: configuration, routes: ["/", "/v1/predict"], modelDescription: {
            var description = report.dictionary
            description["schema"] = Self.schema(predictor.pipeline)
            return description
        }) { router, server in
            router.get("/") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                         body: ResponseBody(byteBuffer: ByteBuffer(string: HousePricePage.html)))
            }
            router.post("/v1/predict") { request, context in
                let type = (request.headers[.contentType] ?? "").lowercased()
                if type.hasPrefix("text/csv") {
                    return try await predictCSV(request, predictor: predictor, threads: threads, logger: context.logger)
                }
                guard type.isEmpty || type.hasPrefix("application/json") else {
                    throw ClientError(.unsupportedMediaType, "send application/json (an array of rows) or text/csv, not \(type)")
                }
                let body = try await collectBody(request, limit: configuration.maximumBodyBytes)
                let (prices, warnings) = try predictJSON(body, predictor: predictor, maximumRows: configuration.maximumRows)
                server.metrics.recordBatch(size: prices.count)
                return JSONResponse.make(["predictions": prices, "warnings": warnings])
            }
        }
    }

    /// The inputs a client must send, for `GET /v1/model` and the page's form.
    static func schema(_ pipeline: FeaturePipeline) -> [String: Any] {
        let columns: [[String: Any]] = pipeline.columns.map { column in
            var entry: [String: Any] = ["name": column.name, "kind": column.kind]
            switch column.encoding {
            case let .numeric(scale): entry["median"] = scale.median
            case let .categorical(categories): entry["categories"] = categories
            case let .date(order, days):
                entry["date_order"] = order.rawValue
                entry["median_day"] = days.median
            }
            return entry
        }
        return ["target": pipeline.target, "prediction_column": pipeline.predictionColumn, "log_target": pipeline.logTarget,
                "columns": columns,
                "locations": pipeline.locations.map { ["latitude": $0.latitude, "longitude": $0.longitude] }]
    }

    static func collectBody(_ request: Request, limit: Int) async throws -> [UInt8] {
        do {
            return Array(buffer: try await request.body.collect(upTo: limit))
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw ClientError(.contentTooLarge, "the body is larger than \(limit) bytes")
        }
    }

    /// Prices the rows of a JSON array of objects.
    static func predictJSON(_ body: [UInt8], predictor: HousePricePredictor,
                            maximumRows: Int) throws -> (prices: [Double], warnings: [String]) {
        let rows: [[String: JSONCell]]
        do {
            rows = try JSONDecoder().decode([[String: JSONCell]].self, from: Data(body))
        } catch DecodingError.typeMismatch(_, let context) where !context.codingPath.isEmpty {
            let row = (context.codingPath.first?.intValue ?? 0) + 1
            let column = context.codingPath.count > 1 ? ", column \"\(context.codingPath[1].stringValue)\"" : ""
            throw ClientError.badRequest("row \(row)\(column): give an object of column → text, number or null")
        } catch {
            throw ClientError.badRequest("the body must be a JSON array of row objects (column → text, number or null)")
        }
        guard !rows.isEmpty else { throw ClientError.badRequest("the array holds no row") }
        guard rows.count <= maximumRows else {
            throw ClientError(.contentTooLarge, "\(rows.count) rows; at most \(maximumRows) per JSON request (send text/csv for more)")
        }
        let pipeline = predictor.pipeline
        let header = Array(Set(pipeline.columns.map(\.name) + pipeline.locations.flatMap { [$0.latitude, $0.longitude] })).sorted()
        var table: [[String]] = []
        for (index, row) in rows.enumerated() {
            table.append(try header.map { column -> String in
                guard let cell = row[column] else {
                    throw ClientError.badRequest("row \(index + 1) lacks column \"\(column)\", which the model needs")
                }
                return cell.text
            })
        }
        do {
            return try predictor.predict(CSVTable(header: header, rows: table, lines: Array(1...table.count)), name: "row", threads: 1)
        } catch {
            // "row:3: column ..." reads as "row 3: column ...".
            let message = error.description.replacingOccurrences(of: "row:", with: "row ")
            throw ClientError(.badRequest, message)
        }
    }

    /// Prices a CSV body as it arrives and streams the priced CSV back: the body feeds a parser on
    /// a thread of its own through a bounded channel, and the priced chunks come back through
    /// another, so memory stays constant. A problem found before the first rows are sent (a
    /// missing column, a bad value in the first 8,192 rows) is a 400; one found later ends the
    /// response early (the transfer is then incomplete, which clients report) and is logged.
    static func predictCSV(_ request: Request, predictor: HousePricePredictor, threads: Int,
                           logger: Logger) async throws -> Response {
        let given = try CSVRequestDialect(request)
        let input = ChunkChannel(), output = ChunkChannel()
        let body = request.body
        let producer = Task {
            do {
                for try await buffer in body {
                    guard await input.send(Array(buffer: buffer)) else { return }
                }
                input.finish()
            } catch {
                input.finish(throwing: error)
            }
        }
        let worker = Thread {
            do {
                var reader = try CSVReader(name: "request body", source: ChannelByteSource(input), delimiter: given.delimiter,
                                           decimalSeparator: given.decimalSeparator, encoding: given.encoding)
                let dialect = reader.dialect
                let header = CSVWriter.line(reader.header + [predictor.pipeline.predictionColumn], delimiter: dialect.delimiter)
                var started = false
                let warnings = try predictor.predict(&reader, threads: threads) { chunk, prices in
                    var text = started ? "" : header
                    started = true
                    for (row, price) in zip(chunk.rows, prices) { text += HousePricePredictor.pricedLine(row, price: price, dialect: dialect) }
                    guard output.sendBlocking(Array(text.utf8)) else { throw CancellationError() }
                }
                if !started { output.sendBlocking(Array(header.utf8)) }
                for warning in warnings { logger.info("predict: \(warning)") }
                output.finish()
            } catch {
                output.finish(throwing: error)
                input.finish(throwing: CancellationError())
            }
        }
        worker.start()
        // The first chunk decides the status: an error before any row is the client's to fix.
        let first: [UInt8]?
        do {
            first = try await output.receive()
        } catch {
            producer.cancel()
            throw ClientError.badRequest(String(describing: error))
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: ResponseBody { writer in
            defer { producer.cancel(); output.finish(throwing: CancellationError()) }
            if let first { try await writer.write(ByteBuffer(bytes: first)) }
            do {
                while let chunk = try await output.receive() { try await writer.write(ByteBuffer(bytes: chunk)) }
            } catch {
                logger.error("predict: the CSV stream ended early: \(error)")
                throw error
            }
            try await writer.finish(nil)
        })
    }
}

/// A `ChunkChannel` as the byte source a `CSVReader` pulls from, on the reader's own thread.
final class ChannelByteSource: CSVByteSource {
    private let channel: ChunkChannel
    private var pending: [UInt8] = []
    private var offset = 0

    init(_ channel: ChunkChannel) { self.channel = channel }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CSVError) -> Int {
        while offset == pending.count {
            do {
                guard let chunk = try channel.receiveBlocking() else { return 0 }
                (pending, offset) = (chunk, 0)
            } catch {
                throw CSVError(file: "request body", line: 0, message: "the upload stopped: \(error)")
            }
        }
        let count = min(buffer.count, pending.count - offset)
        pending.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

/// One value of a JSON row: a text, a number (written as a CSV would have it) or null (missing).
/// Booleans, arrays and objects are refused.
struct JSONCell: Decodable {
    let text: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            text = ""
        } else if let string = try? container.decode(String.self) {
            text = string
        } else if (try? container.decode(Bool.self)) != nil {
            throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "a boolean"))
        } else {
            let number = try container.decode(Double.self)
            // Whole numbers as integers ("98001", not "98001.0"), as a CSV would write them.
            text = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        }
    }
}
