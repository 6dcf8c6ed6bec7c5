import MatrixKernels

/// What an inference plan prepares once instead of on every call: each layer's weight and bias
/// with its BatchNorm folded in, and the weight packed as the panels its product reads
/// (`PanelPacking`).
///
/// Both are passes over the whole weight for every batch otherwise: for the MNIST CNN's 9216→128
/// layer, 4.7 MB copied to multiply a 64-image batch, and as much again scaled when a BatchNorm
/// follows it. A network owns one of these; any change of its parameters or buffers replaces it
/// with an empty one, so entries always describe the current weights. Entries are made on first
/// use, by whichever thread needs them first, and read by many threads at once.
final class PreparedWeights: @unchecked Sendable {
    /// A layer's weights, ready to multiply.
    struct Layer: Sendable {
        /// The weight, BatchNorm folded in; the layer's parameter itself when none follows.
        let weight: Tensor
        /// The bias, BatchNorm folded in.
        let bias: Tensor
        /// `weight` packed as the layer's product reads it, for the kernel path of the key.
        let packedWeight: [Float]
    }

    /// Whose entry: the step whose parameters start at `parameterIndex`, on `kernels`.
    struct Key: Hashable {
        let parameterIndex: Int
        let kernels: KernelPath
    }

    private let lock = Lock()
    /// Guarded by `lock`.
    private var entries: [Key: Layer] = [:]

    init() {}

    /// The entry for `key`, made by `make` the first time. `make` runs outside the lock; when two
    /// threads make the same entry at once, both results are equal and the first one stored wins.
    func layer(_ key: Key, make: () -> Layer) -> Layer {
        if let existing = lock.withLock({ entries[key] }) { return existing }
        let made = make()
        return lock.withLock {
            if let existing = entries[key] { return existing }
            entries[key] = made
            return made
        }
    }

    /// An inference step's weight and bias (its BatchNorm, if any, folded in), and, when the
    /// context carries the plan's prepared weights, the weight packed by `pack` — all made once.
    static func inferenceWeights(parameterIndex: Int, normalization: FoldedBatchNorm?, parameters: [Tensor],
                                 buffers: [Tensor], context: ExecutionContext,
                                 pack: (Tensor) -> [Float]) -> (weight: Tensor, bias: Tensor, packed: [Float]?) {
        func folded() -> (weight: Tensor, bias: Tensor) {
            let (weight, bias) = (parameters[parameterIndex], parameters[parameterIndex + 1])
            return normalization?.fold(weight: weight, bias: bias, parameters: parameters, buffers: buffers) ?? (weight, bias)
        }
        guard let prepared = context.preparedWeights else {
            let (weight, bias) = folded()
            return (weight, bias, nil)
        }
        let layer = prepared.layer(Key(parameterIndex: parameterIndex, kernels: context.kernels)) {
            let (weight, bias) = folded()
            return Layer(weight: weight, bias: bias, packedWeight: pack(weight))
        }
        return (layer.weight, layer.bias, layer.packedWeight)
    }
}
