/// Reshapes each sample to a vector: `[batch, d1, d2, ...]` → `[batch, d1·d2·...]`, the bridge
/// from convolution to dense layers. Row-major order means no data moves.
public final class Flatten: Layer {
    private var inputShape: [Int] = []

    public init() {}

    public var spec: LayerSpec { .flatten }

    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] {
        [inputShape.reduce(1, *)]
    }

    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        inputShape = input.shape
        return input.reshaped([input.shape[0], input.count / max(1, input.shape[0])])
    }

    public func backward(_ outputGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool) -> Tensor? {
        needsInputGradient ? outputGradient.reshaped(inputShape) : nil
    }
}
