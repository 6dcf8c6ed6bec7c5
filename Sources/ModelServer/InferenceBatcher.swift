import Dispatch

/// Gathers inputs from concurrent requests into shared forward passes, on a thread of its own (not
/// the server's event loops or the concurrency pool). While a pass runs, new inputs queue up and go
/// together into the next one, at most `maximumBatch` at a time; an input that arrives while the
/// network is idle goes at once, or after `maximumWait` seconds if that is set, to gather company.
/// So a lone request never waits for others, and under load the batches grow by themselves. One
/// network, shared, never copied per request.
public actor InferenceBatcher<Input: Sendable, Output: Sendable> {
    /// Runs the network on a batch: one output per input, in order.
    public typealias Run = @Sendable ([Input]) -> [Output]

    private let run: Run
    private let maximumBatch: Int
    private let maximumWait: Duration
    private let onBatch: @Sendable (Int) -> Void
    private var pending: [(input: Input, continuation: CheckedContinuation<Output, Never>)] = []
    private var busy = false
    private var waiting = false
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
            if busy || waiting { return }
            if maximumWait > .zero && pending.count < maximumBatch {
                waiting = true
                let wait = maximumWait
                Task { [weak self] in
                    try? await Task.sleep(for: wait)
                    await self?.endWait()
                }
            } else {
                startBatch()
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

    private func endWait() {
        waiting = false
        if !busy { startBatch() }
    }

    /// Runs the next batch on the inference thread; when it is done, the next one starts.
    private func startBatch() {
        guard !pending.isEmpty else { return }
        busy = true
        let batch = pending.prefix(maximumBatch)
        pending.removeFirst(batch.count)
        let (run, onBatch) = (self.run, self.onBatch)
        let inputs = batch.map(\.input), continuations = batch.map(\.continuation)
        queue.async { [weak self] in
            let outputs = run(inputs)
            onBatch(inputs.count)
            for (continuation, output) in zip(continuations, outputs) { continuation.resume(returning: output) }
            Task { await self?.batchFinished() }
        }
    }

    private func batchFinished() {
        busy = false
        if !waiting { startBatch() }
    }
}
