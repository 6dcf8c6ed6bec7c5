import Foundation
import PNGCodec
import Testing
import TestSupport

/// `digits serve` on an ephemeral loopback port: every endpoint, every kind of bad input, a slow
/// client, batching, and a graceful stop.
@Suite("digits serve", .serialized)
struct DigitsServeTests {
    let seven = try! Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/data/samples/0-7-gray8.png"))
    let zero = try! Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/data/samples/3-0-rgb8.png"))

    /// A multipart/form-data body holding `files` (name, bytes).
    func multipart(_ files: [(String, Data)], boundary: String = "backprop-test-boundary") -> Data {
        var body = Data()
        for (name, bytes) in files {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"images\"; filename=\"\(name)\"\r\nContent-Type: image/png\r\n\r\n".utf8)
            body += bytes + Data("\r\n".utf8)
        }
        return body + Data("--\(boundary)--\r\n".utf8)
    }

    @Test("Health, readiness, the model's description, the page and the metrics")
    func endpoints() async throws {
        let server = try ServerProcess("digits", ["--model", "data/models/digits.safetensors"])
        #expect(ServerProcess.json(try await server.request("/healthz").body)["status"] as? String == "ok")
        #expect(ServerProcess.json(try await server.request("/readyz").body)["status"] as? String == "ready")
        let model = ServerProcess.json(try await server.request("/v1/model").body)
        #expect(model["task"] as? String == "digits")
        #expect(model["labels"] as? [String] == (0...9).map(String.init))
        #expect((model["input"] as? [String: Any])?["type"] as? String == "image/png")
        #expect(model["provenance"] != nil && model["steps"] != nil)
        let page = try await server.request("/")
        #expect(page.status == 200 && page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(String(decoding: page.body, as: UTF8.self).contains("<canvas id=\"pad\""))
        _ = try await server.request("/v1/classify", method: "POST", body: seven, contentType: "image/png")
        let metrics = String(decoding: try await server.request("/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"backprop_http_requests_total{route="/v1/classify",status="200"} 1"#), "\(metrics)")
        #expect(metrics.contains("backprop_http_request_duration_seconds_bucket"))
        #expect(metrics.contains("backprop_inference_batch_size_count"))
        #expect(metrics.contains("backprop_http_requests_in_flight"))
        #expect(try await server.request("/no/such/path").status == 404)
    }

    @Test("One PNG, several as multipart (a bad one among them), top-k and the 28×28 input")
    func classify() async throws {
        let server = try ServerProcess("digits", ["--model", "data/models/digits.safetensors"])
        let one = try await server.request("/v1/classify?top=3&input=1", method: "POST", body: seven, contentType: "image/png")
        #expect(one.status == 200)
        let answer = ServerProcess.json(one.body)
        #expect(answer["label"] as? String == "7" && answer["uncertain"] as? Bool == false)
        #expect((answer["top"] as? [[String: Any]])?.count == 3)
        #expect((answer["input"] as? [Double])?.count == 784)
        let many = try await server.request("/v1/classify?top=1", method: "POST",
                                            body: multipart([("a.png", seven), ("b.png", zero), ("c.png", Data("not a png".utf8))]),
                                            contentType: "multipart/form-data; boundary=backprop-test-boundary")
        #expect(many.status == 200)
        let results = try #require(ServerProcess.json(many.body)["results"] as? [[String: Any]])
        #expect(results.map { $0["file"] as? String } == ["a.png", "b.png", "c.png"])
        #expect(results[0]["label"] as? String == "7" && results[1]["label"] as? String == "0")
        #expect((results[2]["error"] as? String)?.hasPrefix("c.png: not a valid PNG") == true, "\(results[2])")
    }

    @Test("Bad input is a 4xx with {\"error\": ...} naming the problem, never a 5xx")
    func badInput() async throws {
        let server = try ServerProcess("digits", ["--model", "data/models/digits.safetensors", "--max-body-mb", "1"])
        func expectError(_ path: String, body: Data, type: String?, status: Int, containing text: String) async throws {
            let response = try await server.request(path, method: "POST", body: body, contentType: type)
            #expect(response.status == status, "\(path) \(type ?? ""): \(String(decoding: response.body, as: UTF8.self))")
            let error = ServerProcess.json(response.body)["error"] as? String
            #expect(error?.contains(text) == true, "\(error ?? String(decoding: response.body, as: UTF8.self))")
        }
        try await expectError("/v1/classify", body: Data("hello".utf8), type: "image/png", status: 400, containing: "not a valid PNG")
        try await expectError("/v1/classify", body: seven, type: "text/plain", status: 415, containing: "send image/png")
        try await expectError("/v1/classify", body: Data(count: 2 << 20), type: "image/png", status: 413, containing: "larger than 1048576 bytes")
        let blank = Data(PNGEncoder(width: 40, height: 30, colorType: .gray, bitDepth: 8).encode(samples: Array(repeating: 255, count: 1200)))
        try await expectError("/v1/classify", body: blank, type: "image/png", status: 422, containing: "no digit found")
        // A PNG header declaring 20,000 × 20,000 pixels: refused before any pixel memory.
        var huge = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
        huge += Data([0x00, 0x00, 0x4E, 0x20, 0x00, 0x00, 0x4E, 0x20, 0x08, 0x00, 0x00, 0x00, 0x00, 0xC6, 0x1B, 0x19, 0xE5,  // IHDR
                      0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x60, 0x80, 0x01, 0x00, 0x00, 0x0A,  // IDAT
                      0x00, 0x01, 0x7F, 0x80, 0x74, 0x5E, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])  // IEND
        try await expectError("/v1/classify", body: huge, type: "image/png", status: 413, containing: "the limit is")
        try await expectError("/v1/classify", body: multipart([("a.png", seven)]), type: "multipart/form-data", status: 400,
                              containing: "needs a boundary")
        try await expectError("/v1/classify", body: Data("--x\r\ngarbage".utf8), type: "multipart/form-data; boundary=other", status: 400,
                              containing: "holds no file")
        try await expectError("/v1/classify?top=zero", body: seven, type: "image/png", status: 400, containing: "top must be")
        let metrics = String(decoding: try await server.request("/metrics").body, as: UTF8.self)
        #expect(!metrics.contains("status=\"5"), "\(metrics)")
    }

    @Test("A body trickled in slower than --timeout gets 408 at the deadline")
    func slowClient() throws {
        let server = try ServerProcess("digits", ["--model", "data/models/digits.safetensors", "--timeout", "1"])
        let head = "POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: \(seven.count)\r\n\r\n"
        let (answer, seconds) = try server.slowRequest(head: head, body: Array(seven), interval: 0.2)
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        #expect(answer.contains("was not received and answered within 1.0 s"))
        #expect(seconds < 3, "\(seconds) s")
    }

    @Test("Concurrent requests share forward passes")
    func batching() async throws {
        let server = try ServerProcess("digits", ["--model", "data/models/digits.safetensors", "--max-wait-ms", "50", "--max-batch", "64"])
        let labels = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<24 {
                group.addTask { ServerProcess.json(try await server.request("/v1/classify", method: "POST", body: self.seven,
                                                                            contentType: "image/png").body)["label"] as? String }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(labels == Array(repeating: "7", count: 24))
        let metrics = String(decoding: try await server.request("/metrics").body, as: UTF8.self)
        let count = Double(metrics.firstMatch(of: /backprop_inference_batch_size_count ([0-9.]+)/)!.1)!
        let sum = Double(metrics.firstMatch(of: /backprop_inference_batch_size_sum ([0-9.]+)/)!.1)!
        #expect(sum == 24 && count < 24, "24 inputs in \(count) passes")
    }

    @Test("SIGTERM and SIGINT let a request in flight finish, then the server exits 0")
    func gracefulStop() async throws {
        for signal in [SIGTERM, SIGINT] {
            let server = try ServerProcess("digits", ["--model", "data/models/digits.safetensors", "--max-wait-ms", "500"])
            // The batch waits half a second for company: the signal arrives while it is in flight.
            async let answer = server.request("/v1/classify", method: "POST", body: seven, contentType: "image/png")
            try await Task.sleep(for: .milliseconds(150))
            kill(server.process.processIdentifier, signal)
            let response = try await answer
            #expect(response.status == 200 && ServerProcess.json(response.body)["label"] as? String == "7")
            let (status, stderr) = server.waitForExit()
            #expect(status == 0, "\(stderr)")
            #expect(stderr.hasSuffix("digits: stopped\n"), "\(stderr)")
        }
    }
}
