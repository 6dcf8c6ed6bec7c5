import Dispatch

/// Gathers inputs from concurrent requests into one forward pass: the first input waits at most
/// `maximumWait` seconds for others, a batch holds at most `maximumBatch`, and the pass runs on a
/// thread of its own (not the server's event loops or the concurrency pool) while the next batch
/// gathers. One network, shared, never copied per request.
public actor InferenceBatcher<Input: Sendable, Output: Sendable> {
    /// Runs the network on a batch: one output per input, in order.
    public typealias Run = @Sendable ([Input]) -> [Output]

    private let run: Run
    private let maximumBatch: Int
    private let maximumWait: Duration
    private let onBatch: @Sendable (Int) -> Void
    private var pending: [(input: Input, continuation: CheckedContinuation<Output, Never>)] = []
    private var flushScheduled = false
    private let queue = DispatchQueue(label: "backprop.inference")

    /// - Parameter onBatch: told each batch's size (for the metrics).
    public init(maximumBatch: Int, maximumWait: Double, onBatch: @escaping @Sendable (Int) -> Void = { _ in }, run: @escaping Run) {
        self.run = run
        self.maximumBatch = max(1, maximumBatch)
        self.maximumWait = .nanoseconds(Int64(max(0, maximumWait) * 1e9))
        self.onBatch = onBatch
    }

    /// The network's output for `input`, computed in a batch with whatever else arrives meanwhile.
    public func submit(_ input: Input) async -> Output {
        await withCheckedContinuation { continuation in
            pending.append((input, continuation))
            if pending.count >= maximumBatch {
                flush()
            } else if !flushScheduled {
                flushScheduled = true
                let wait = maximumWait
                Task { [weak self] in
                    try? await Task.sleep(for: wait)
                    await self?.flushIfScheduled()
                }
            }
        }
    }

    /// Every input of `inputs`, each through `submit`: they join the batches in order.
    public func submit(all inputs: [Input]) async -> [Output] {
        await withTaskGroup(of: (Int, Output).self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask { (index, await self.submit(input)) }
            }
            var outputs = [Output?](repeating: nil, count: inputs.count)
            for await (index, output) in group { outputs[index] = output }
            return outputs.map { $0! }
        }
    }

    private func flushIfScheduled() {
        guard flushScheduled else { return }
        flush()
    }

    private func flush() {
        flushScheduled = false
        guard !pending.isEmpty else { return }
        let batch = pending.prefix(maximumBatch)
        pending.removeFirst(batch.count)
        if !pending.isEmpty {
            flushScheduled = true
            Task { [weak self] in await self?.flushIfScheduled() }
        }
        let (run, onBatch) = (self.run, self.onBatch)
        let inputs = batch.map(\.input), continuations = batch.map(\.continuation)
        queue.async {
            let outputs = run(inputs)
            onBatch(inputs.count)
            for (continuation, output) in zip(continuations, outputs) { continuation.resume(returning: output) }
        }
    }
}
