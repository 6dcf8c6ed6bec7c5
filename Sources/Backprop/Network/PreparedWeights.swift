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
        /// `weight` packed as the layer's product reads it, for the kernel path of the key; nil
        /// in an entry made without packing.
        let packedWeight: [Float]?
    }

    /// Whose entry: the step whose parameters start at `parameterIndex`, on `kernels`, in `form`.
    struct Key: Hashable {
        let parameterIndex: Int
        let kernels: KernelPath
        let form: Form
    }

    /// How an entry's `packedWeight` holds the weight.
    enum Form: Hashable {
        /// Not at all (nil).
        case asIs
        /// Viewed as `[out, rest]`, packed in panels of a given width.
        case panels
        /// Transformed for ``WinogradConvolution`` and packed as its products' A.
        case winograd
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
    /// context carries the plan's prepared weights and `packedWidth` is given, the weight viewed
    /// as `[out, rest]` packed in panels that wide (`PanelPacking`) — each made once. Packing
    /// waits for a batch that reads it: a single image's dense product reads the weight as it
    /// is, and a one-shot `classify` should not pack 4.7 MB it never reads.
    static func inferenceWeights(parameterIndex: Int, normalization: FoldedBatchNorm?, parameters: [Tensor],
                                 buffers: [Tensor], context: ExecutionContext,
                                 packedWidth: Int?) -> (weight: Tensor, bias: Tensor, packed: [Float]?) {
        func folded() -> Layer {
            let (weight, bias) = (parameters[parameterIndex], parameters[parameterIndex + 1])
            let (foldedWeight, foldedBias) = normalization?.fold(weight: weight, bias: bias, parameters: parameters,
                                                                 buffers: buffers) ?? (weight, bias)
            return Layer(weight: foldedWeight, bias: foldedBias, packedWeight: nil)
        }
        guard let prepared = context.preparedWeights else {
            let layer = folded()
            return (layer.weight, layer.bias, nil)
        }
        let key = Key(parameterIndex: parameterIndex, kernels: context.kernels, form: .asIs)
        let layer = prepared.layer(key, make: folded)
        guard let width = packedWidth else { return (layer.weight, layer.bias, nil) }
        let packed = prepared.layer(Key(parameterIndex: parameterIndex, kernels: context.kernels, form: .panels)) {
            let rows = layer.weight.shape[0], depth = layer.weight.count / max(1, rows)
            var packed = [Float](repeating: 0, count: PanelPacking.count(rows: rows, depth: depth, width: width))
            layer.weight.withUnsafeBufferPointer { w in
                packed.withUnsafeMutableBufferPointer {
                    PanelPacking.pack(MatrixOperand(w.baseAddress!, rowStride: depth), rows: rows, depth: depth,
                                      width: width, into: $0.baseAddress!)
                }
            }
            return Layer(weight: layer.weight, bias: layer.bias, packedWeight: packed)
        }
        return (packed.weight, packed.bias, packed.packedWeight)
    }

    /// A 3×3 convolution's weight `[oc, c, 3, 3]` and bias (its BatchNorm, if any, folded in) for
    /// ``WinogradConvolution``: the bias, and the 16 transformed weights packed one after another
    /// as the GEMM's A with the path's MR. Made once when the context carries the plan's
    /// prepared weights, else on each call.
    static func winogradWeights(parameterIndex: Int, normalization: FoldedBatchNorm?, parameters: [Tensor],
                                buffers: [Tensor], context: ExecutionContext) -> (bias: Tensor, packed: [Float]) {
        let (weight, bias, _) = inferenceWeights(parameterIndex: parameterIndex, normalization: normalization,
                                                 parameters: parameters, buffers: buffers, context: context, packedWidth: nil)
        func transformed() -> Layer {
            Layer(weight: weight, bias: bias, packedWeight: ConvolutionStep.winogradWeight(weight, kernels: context.kernels))
        }
        guard let prepared = context.preparedWeights else { return (bias, transformed().packedWeight!) }
        let layer = prepared.layer(Key(parameterIndex: parameterIndex, kernels: context.kernels, form: .winograd),
                                   make: transformed)
        return (layer.bias, layer.packedWeight!)
    }
}
