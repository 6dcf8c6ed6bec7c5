/// Updates parameters from their gradients.
///
/// Per-parameter state (momentum, moment estimates) is kept by index, aligned with the parameter
/// list of the first step and created zero-filled then; every later step checks that it is given
/// the same number of parameters with the same shapes, so one optimizer cannot be applied to two
/// different parameter lists by mistake. The state can be read and restored (``state``,
/// ``restoreState(_:parameterShapes:)``), which is how training checkpoints save it.
///
/// Implementations provide ``beginStep(parameterShapes:)`` and ``update(parameter:values:gradient:threads:)``;
/// callers use `step(_:gradients:threads:)` on a ``Network`` or on an array of tensors.
public protocol Optimizer: AnyObject {
    /// The step size used by the next step (the trainer sets it from its schedule).
    var learningRate: Float { get set }
    /// Starts one step over parameters of these shapes: creates the state on the first step and
    /// checks it on every later one (a mismatch is a precondition failure naming the parameter).
    func beginStep(parameterShapes: [[Int]])
    /// Updates parameter `index` of the step begun last, in place, from its gradient, on up to
    /// `threads` threads (results do not depend on it).
    func update(parameter index: Int, values: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>,
                threads: Int)
    /// The complete state: the step count and per-parameter slots.
    var state: OptimizerState { get }
    /// Replaces the state with one read from `state` for parameters of these shapes.
    /// - Throws: `OptimizerStateError` when a slot is missing, unexpected or mis-shaped.
    func restoreState(_ state: OptimizerState, parameterShapes: [[Int]]) throws(OptimizerStateError)
}

extension Optimizer {
    /// Applies one update to every parameter of `network`; `gradients` are aligned with
    /// `network.parameters` (see ``Network/makeGradients()``).
    public func step(_ network: inout Network, gradients: [Tensor], threads: Int = 1) {
        let shapes = network.parameters.map(\.shape)
        checkGradients(gradients, shapes: shapes)
        beginStep(parameterShapes: shapes)
        network.updateParameters { index, values in
            gradients[index].withUnsafeBufferPointer { update(parameter: index, values: values, gradient: $0, threads: threads) }
        }
    }

    /// Applies one update to every tensor of `parameters`, given their gradients in the same order.
    public func step(_ parameters: inout [Tensor], gradients: [Tensor], threads: Int = 1) {
        let shapes = parameters.map(\.shape)
        checkGradients(gradients, shapes: shapes)
        beginStep(parameterShapes: shapes)
        for index in parameters.indices {
            parameters[index].withUnsafeMutableBufferPointer { values in
                gradients[index].withUnsafeBufferPointer { update(parameter: index, values: values, gradient: $0, threads: threads) }
            }
        }
    }

    /// Restores state saved for `network`'s parameters.
    public func restoreState(_ state: OptimizerState, for network: Network) throws(OptimizerStateError) {
        try restoreState(state, parameterShapes: network.parameters.map(\.shape))
    }

    private func checkGradients(_ gradients: [Tensor], shapes: [[Int]]) {
        require(gradients.count == shapes.count,
                     "\(Self.self).step: \(gradients.count) gradients for \(shapes.count) parameters")
        for (index, gradient) in gradients.enumerated() {
            require(gradient.shape == shapes[index],
                         "\(Self.self).step: the gradient of parameter \(index) has shape \(gradient.shape), "
                            + "the parameter \(shapes[index])")
        }
    }
}

/// An optimizer's state: the number of steps taken and, per slot (e.g. `m` and `v` for Adam),
/// one tensor per parameter, in parameter order (empty before the first step).
public struct OptimizerState: Sendable, Equatable {
    public var step: Int
    public var slots: [String: [Tensor]]

    public init(step: Int, slots: [String: [Tensor]]) {
        self.step = step
        self.slots = slots
    }
}

/// Why saved optimizer state does not fit the current optimizer and parameters.
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Per-parameter buffers shared by the optimizer implementations, by parameter index.
struct OptimizerSlots {
    /// Slot names each parameter gets, e.g. ["m", "v"] for Adam.
    let names: [String]
    /// buffers[parameter][slot], created on the first step.
    private var buffers: [[SlotBuffer]] = []
    /// The parameter shapes the buffers were made for.
    private var shapes: [[Int]]?
    private(set) var step = 0

    init(names: [String]) { self.names = names }

    /// Counts a step over parameters of `parameterShapes`: creates the buffers on the first one
    /// and checks that every later one has the same parameters.
    mutating func begin(_ parameterShapes: [[Int]], optimizer: String) {
        if let shapes {
            require(shapes.count == parameterShapes.count,
                         "\(optimizer).step: given \(parameterShapes.count) parameters, but its state was made for "
                            + "\(shapes.count); use one optimizer per parameter list")
            for (index, shape) in parameterShapes.enumerated() {
                require(shape == shapes[index],
                             "\(optimizer).step: parameter \(index) has shape \(shape), but its state was made for "
                                + "\(shapes[index]); use one optimizer per parameter list, and do not reshape parameters")
            }
        } else {
            shapes = parameterShapes
            buffers = parameterShapes.map { shape in names.map { _ in SlotBuffer(shape: shape) } }
        }
        step += 1
    }

    /// Slot `slot` of parameter `index`, checked against the values it will update.
    func pointer(_ slot: Int, parameter index: Int, count: Int) -> UnsafeMutablePointer<Float> {
        require(index >= 0 && index < buffers.count && buffers[index][slot].count == count,
                     "optimizer update of parameter \(index) without a matching beginStep")
        return buffers[index][slot].pointer
    }

    var state: OptimizerState {
        var slots: [String: [Tensor]] = [:]
        for (slot, name) in names.enumerated() { slots[name] = buffers.map { $0[slot].tensor } }
        return OptimizerState(step: step, slots: step > 0 ? slots : [:])
    }

    mutating func restore(_ state: OptimizerState, parameterShapes: [[Int]]) throws(OptimizerStateError) {
        guard state.step >= 0 else { throw OptimizerStateError("optimizer state has a negative step count") }
        guard state.step > 0 else {
            guard state.slots.isEmpty else { throw OptimizerStateError("optimizer state has slots but no step") }
            (buffers, shapes, step) = ([], nil, 0)
            return
        }
        if let extra = Set(state.slots.keys).subtracting(names).sorted().first {
            throw OptimizerStateError("optimizer state has an unexpected slot \"\(extra)\"")
        }
        var restored: [[SlotBuffer]] = parameterShapes.map { _ in [] }
        for name in names {
            guard let tensors = state.slots[name] else { throw OptimizerStateError("optimizer state lacks slot \"\(name)\"") }
            guard tensors.count == parameterShapes.count else {
                throw OptimizerStateError("optimizer state \"\(name)\" has \(tensors.count) tensors for "
                    + "\(parameterShapes.count) parameters")
            }
            for (index, tensor) in tensors.enumerated() {
                guard tensor.shape == parameterShapes[index] else {
                    throw OptimizerStateError("optimizer state \"\(name)\" of parameter \(index) has shape \(tensor.shape), "
                        + "expected \(parameterShapes[index])")
                }
                restored[index].append(SlotBuffer(tensor))
            }
        }
        (buffers, shapes, step) = (restored, parameterShapes, state.step)
    }
}

/// One optimizer slot's memory. A class owning raw memory, so that an update loop can hold
/// several slots' pointers at once without overlapping accesses to Swift arrays.
final class SlotBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let shape: [Int]
    let count: Int

    /// Zero-filled.
    init(shape: [Int]) {
        self.shape = shape
        count = Tensor.elementCount(shape)
        pointer = .allocate(capacity: count)
        pointer.initialize(repeating: 0, count: count)
    }

    init(_ tensor: Tensor) {
        shape = tensor.shape
        count = tensor.count
        pointer = .allocate(capacity: tensor.count)
        tensor.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: $0.count) }
    }

    deinit { pointer.deallocate() }

    /// A copy of the contents.
    var tensor: Tensor {
        Tensor(shape: shape, scalars: Array(UnsafeBufferPointer(start: pointer, count: count)))
    }
}
