import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A built tool's `serve` command running on an ephemeral loopback port, for tests that talk to it
/// over HTTP. Stopped with SIGTERM when the test ends (or earlier, with `stop`).
public final class ServerProcess: @unchecked Sendable {
    public let process = Process()
    /// "http://127.0.0.1:PORT".
    public private(set) var baseURL = ""
    public private(set) var port = 0
    private let errors = Pipe()
    private var stderrText = ""
    private let lock = NSLock()

    /// Starts `name serve --port 0` plus `arguments`, and waits until it says where it listens.
    public init(_ name: String, _ arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: productsDirectory + "/" + name)
        process.arguments = ["serve", "--port", "0"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            stderrText += String(decoding: chunk, as: UTF8.self)
            if let match = stderrText.firstMatch(of: /listening on (http:\/\/[0-9.]+:([0-9]+))/) {
                baseURL = String(match.1)
                port = Int(match.2)!
                break
            }
        }
        guard !baseURL.isEmpty else {
            process.terminate()
            throw ServerProcessError("\(name) serve did not start: \(stderrText)")
        }
        // Keep draining stderr so the server never blocks on a full pipe.
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.stderrText += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        errors.fileHandleForReading.readabilityHandler = nil
    }

    /// What the server wrote on stderr so far.
    public var stderr: String {
        lock.lock()
        defer { lock.unlock() }
        return stderrText
    }

    /// Sends `signal` and waits for the exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        return waitForExit().status
    }

    /// Waits for the process to end; its status and everything it wrote on stderr.
    public func waitForExit() -> (status: Int32, stderr: String) {
        process.waitUntilExit()
        errors.fileHandleForReading.readabilityHandler = nil
        let rest = errors.fileHandleForReading.readDataToEndOfFile()
        lock.lock()
        stderrText += String(decoding: rest, as: UTF8.self)
        lock.unlock()
        return (process.terminationStatus, stderr)
    }

    /// One HTTP request; returns the status, the headers and the body.
    public func request(_ path: String, method: String = "GET", body: Data? = nil,
                        contentType: String? = nil) async throws -> (status: Int, headers: [String: String], body: Data) {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 60
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return (http.statusCode, headers, data)
    }

    /// The JSON object of a response body.
    public static func json(_ data: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// Sends `head` (a request line and headers, CRLF-terminated) and then `body` one byte every
    /// `interval` seconds over a raw socket, like a slow client; returns what the server answered
    /// (possibly before the body was all sent) and the seconds it took.
    public func slowRequest(head: String, body: [UInt8], interval: Double) throws -> (answer: String, seconds: Double) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ServerProcessError("socket: \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ServerProcessError("connect: \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 10_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let started = Date()
        _ = Array(head.utf8).withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        for byte in body {
            if send(descriptor, [byte], 1, Int32(MSG_NOSIGNAL)) < 0 { break }
            let until = Date().addingTimeInterval(interval)
            while Date() < until {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count > 0 { answer += buffer[0..<count] }
                if count == 0 { break }
            }
            if !answer.isEmpty { break }
        }
        return (String(decoding: answer, as: UTF8.self), Date().timeIntervalSince(started))
    }
}

public struct ServerProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
