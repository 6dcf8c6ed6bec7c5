import Foundation

/// A bounded queue of byte chunks between async code (the server's request and response bodies)
/// and a blocking thread (a parser that pulls its input, like `CSVReader`): either side may be
/// either kind. Holding at most `capacity` chunks, it keeps a streamed request's memory constant
/// whatever its size; a full queue makes the sender wait, an empty one the receiver.
public final class ChunkChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var finished = false
    private var failure: (any Error)?
    private var asyncReceiver: CheckedContinuation<Void, Never>?
    private var asyncSender: CheckedContinuation<Void, Never>?
    private let capacity: Int

    public init(capacity: Int = 8) { self.capacity = max(1, capacity) }

    /// Wakes whoever waits on the other side (called with the lock held).
    private func wake() {
        condition.broadcast()
        asyncReceiver?.resume()
        asyncReceiver = nil
        asyncSender?.resume()
        asyncSender = nil
    }

    // MARK: Sending

    /// Appends `chunk`, blocking the calling thread while the queue is full. Returns false when
    /// the channel was closed (the receiver is gone): stop producing.
    @discardableResult
    public func sendBlocking(_ chunk: [UInt8]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= capacity && !finished { condition.wait() }
        guard !finished else { return false }
        chunks.append(chunk)
        wake()
        return true
    }

    /// Appends `chunk`, suspending while the queue is full. Returns false when closed.
    @discardableResult
    public func send(_ chunk: [UInt8]) async -> Bool {
        while true {
            switch trySend(chunk) {
            case .sent: return true
            case .closed: return false
            case .full: await withCheckedContinuation { waitForSpace($0) }
            }
        }
    }

    private enum Attempt { case sent, closed, full }

    private func trySend(_ chunk: [UInt8]) -> Attempt {
        condition.lock()
        defer { condition.unlock() }
        if finished { return .closed }
        guard chunks.count < capacity else { return .full }
        chunks.append(chunk)
        wake()
        return .sent
    }

    /// Resumes `continuation` once there is room (or the channel closed): at once if there is now.
    private func waitForSpace(_ continuation: CheckedContinuation<Void, Never>) {
        condition.lock()
        defer { condition.unlock() }
        if chunks.count < capacity || finished {
            continuation.resume()
        } else {
            asyncSender = continuation
        }
    }

    /// Ends the stream: the receiver gets the chunks already queued, then nil, or `error`.
    public func finish(throwing error: (any Error)? = nil) {
        condition.lock()
        if !finished {
            finished = true
            failure = error
        }
        wake()
        condition.unlock()
    }

    // MARK: Receiving

    /// The next chunk, blocking while none is queued; nil at the end.
    public func receiveBlocking() throws -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !finished { condition.wait() }
        return try takeLocked()
    }

    /// The next chunk, suspending while none is queued; nil at the end.
    public func receive() async throws -> [UInt8]? {
        while true {
            if let outcome = try tryReceive() { return outcome }
            await withCheckedContinuation { waitForData($0) }
        }
    }

    /// The next chunk (`.some(nil)` at the end), or nil when the receiver must wait.
    private func tryReceive() throws -> [UInt8]?? {
        condition.lock()
        defer { condition.unlock() }
        guard !chunks.isEmpty || finished else { return nil }
        return .some(try takeLocked())
    }

    private func waitForData(_ continuation: CheckedContinuation<Void, Never>) {
        condition.lock()
        defer { condition.unlock() }
        if !chunks.isEmpty || finished {
            continuation.resume()
        } else {
            asyncReceiver = continuation
        }
    }

    private func takeLocked() throws -> [UInt8]? {
        if !chunks.isEmpty {
            let chunk = chunks.removeFirst()
            wake()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }
}
