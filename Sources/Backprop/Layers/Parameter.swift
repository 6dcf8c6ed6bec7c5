/// A trainable tensor and the gradient that backward passes accumulate into it.
public final class Parameter {
    /// State-dict name, e.g. `layers.0.weight`; layers create `weight`/`bias` and `Sequential`
    /// prefixes the layer path.
    public internal(set) var name: String
    /// The current value; optimizers update it in place.
    public var value: Tensor
    /// dLoss/dValue, same shape as `value`. Backward passes add to it (`+=`), so gradients of
    /// several batches or uses accumulate until `zeroGradient()`.
    public var gradient: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        self.gradient = Tensor(shape: value.shape)
    }

    /// Sets every gradient element to 0.
    public func zeroGradient() {
        gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}
