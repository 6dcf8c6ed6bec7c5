/// Updates parameters from their accumulated gradients.
///
/// Per-parameter state (momentum, moment estimates) is created on the first step and can be read
/// and restored as named tensors, `<parameter name>.<slot>` plus `step`, which is how training
/// checkpoints save it.
public protocol Optimizer: AnyObject {
    /// The step size used by the next `step` (the trainer sets it from its schedule).
    var learningRate: Float { get set }
    /// Applies one update to every parameter, reading `gradient` and writing `value`, on up to
    /// `threads` threads (results do not depend on it).
    func step(_ parameters: [Parameter], threads: Int)
    /// The complete optimizer state: per-parameter slots and the step count.
    var state: [String: Tensor] { get }
    /// Replaces the state with one previously read from `state` for the same parameters.
    /// - Throws: `OptimizerStateError` when a slot is missing, unexpected or mis-shaped.
    func restoreState(_ state: [String: Tensor], for parameters: [Parameter]) throws(OptimizerStateError)
}

extension Optimizer {
    /// Applies one update on the calling thread.
    public func step(_ parameters: [Parameter]) { step(parameters, threads: 1) }
}

/// Why saved optimizer state does not fit the current optimizer and parameters.
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Named per-parameter buffers shared by the optimizer implementations.
struct OptimizerSlots {
    /// Slot names each parameter gets, e.g. ["m", "v"] for Adam.
    let names: [String]
    /// Keyed by "<parameter name>.<slot name>".
    private var buffers: [String: SlotBuffer] = [:]
    private(set) var step = 0

    init(names: [String]) { self.names = names }

    /// Increments and returns the step count (1 on the first step).
    mutating func advance() -> Int {
        step += 1
        return step
    }

    /// The parameter's slot buffers in `names` order, created zero-filled on first use.
    mutating func pointers(for parameter: Parameter) -> [UnsafeMutablePointer<Float>] {
        names.map { name in
            let key = "\(parameter.name).\(name)"
            if let buffer = buffers[key] { return buffer.pointer }
            let buffer = SlotBuffer(shape: parameter.value.shape)
            buffers[key] = buffer
            return buffer.pointer
        }
    }

    var state: [String: Tensor] {
        var state = buffers.mapValues { $0.tensor }
        state["step"] = Tensor(shape: [1], scalars: [Float(step)])
        return state
    }

    mutating func restore(_ state: [String: Tensor], for parameters: [Parameter]) throws(OptimizerStateError) {
        guard let stepTensor = state["step"], stepTensor.count == 1,
              let restoredStep = Int(exactly: stepTensor.scalars[0]), restoredStep >= 0 else {
            throw OptimizerStateError("optimizer state has no valid \"step\"")
        }
        var restored: [String: SlotBuffer] = [:]
        if restoredStep > 0 {
            for parameter in parameters {
                for name in names {
                    let key = "\(parameter.name).\(name)"
                    guard let tensor = state[key] else {
                        throw OptimizerStateError("optimizer state lacks \"\(key)\"")
                    }
                    guard tensor.shape == parameter.value.shape else {
                        throw OptimizerStateError("optimizer state \"\(key)\" has shape \(tensor.shape), "
                            + "expected \(parameter.value.shape)")
                    }
                    restored[key] = SlotBuffer(tensor)
                }
            }
        }
        let expected = Set(restored.keys).union(["step"])
        if let extra = state.keys.sorted().first(where: { !expected.contains($0) }) {
            throw OptimizerStateError("optimizer state has an unexpected entry \"\(extra)\"")
        }
        buffers = restored
        step = restoredStep
    }
}

/// One optimizer slot's memory. A class owning raw memory, so that an update loop can hold
/// several slots' pointers at once without overlapping accesses to Swift arrays.
final class SlotBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let shape: [Int]
    private var count: Int { Tensor.elementCount(shape) }

    /// Zero-filled.
    init(shape: [Int]) {
        self.shape = shape
        let count = Tensor.elementCount(shape)
        pointer = .allocate(capacity: count)
        pointer.initialize(repeating: 0, count: count)
    }

    init(_ tensor: Tensor) {
        shape = tensor.shape
        pointer = .allocate(capacity: tensor.count)
        tensor.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: $0.count) }
    }

    deinit { pointer.deallocate() }

    /// A copy of the contents.
    var tensor: Tensor {
        Tensor(shape: shape, scalars: Array(UnsafeBufferPointer(start: pointer, count: count)))
    }
}
