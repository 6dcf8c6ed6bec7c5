/// Samples and their targets, indexed along the first dimension of both tensors.
public struct Dataset: Sendable {
    /// `[count] + sampleShape`, e.g. `[60000, 1, 28, 28]`.
    public let inputs: Tensor
    /// `[count] + targetShape`: `[count]` class indices for classification, `[count, 1]` for regression.
    public let targets: Tensor

    public init(inputs: Tensor, targets: Tensor) {
        precondition(inputs.rank >= 1 && targets.rank >= 1 && inputs.shape[0] == targets.shape[0],
                     "Dataset: \(inputs.shape) inputs but \(targets.shape) targets")
        self.inputs = inputs
        self.targets = targets
    }

    /// The number of samples.
    public var count: Int { inputs.shape[0] }

    /// The samples at `indices`, in that order, gathered into one batch.
    public func batch<Indices: Collection<Int>>(_ indices: Indices) -> (inputs: Tensor, targets: Tensor) {
        (gather(inputs, indices), gather(targets, indices))
    }

    /// The targets of the samples at `indices`, in that order.
    public func batchTargets<Indices: Collection<Int>>(_ indices: Indices) -> Tensor { gather(targets, indices) }

    /// A random `fraction` of the samples (at least one when fraction > 0) as validation, the rest
    /// as training, both in random order.
    public func split(validationFraction fraction: Double,
                      random: inout RandomGenerator) -> (training: Dataset, validation: Dataset) {
        precondition(fraction >= 0 && fraction < 1, "split: fraction must be in [0, 1)")
        var order = Array(0..<count)
        order.shuffle(using: &random)
        let validationCount = fraction > 0 ? max(1, Int((Double(count) * fraction).rounded())) : 0
        let validation = order[..<validationCount]
        let training = order[validationCount...]
        return (Dataset(inputs: gather(inputs, training), targets: gather(targets, training)),
                Dataset(inputs: gather(inputs, validation), targets: gather(targets, validation)))
    }

    private func gather<Indices: Collection<Int>>(_ tensor: Tensor, _ indices: Indices) -> Tensor {
        let rowSize = tensor.count / max(1, tensor.shape[0])
        var shape = tensor.shape
        shape[0] = indices.count
        return Tensor(shape: shape) { out in
            tensor.withUnsafeBufferPointer { source in
                var target = out.baseAddress!
                for index in indices {
                    precondition(index >= 0 && index < tensor.shape[0], "Dataset: index \(index) out of range")
                    target.update(from: source.baseAddress! + index * rowSize, count: rowSize)
                    target += rowSize
                }
            }
        }
    }
}
