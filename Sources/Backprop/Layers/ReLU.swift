/// Rectified linear unit: `max(0, x)`. The gradient passes where the output is positive.
public final class ReLU: Layer {
    private var output = Tensor(shape: [0])

    public init() {}

    public var spec: LayerSpec { .relu }

    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        output = mapElements(input) { max(0, $0) }
        return output
    }

    public func backward(_ outputGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        return zipElements(outputGradient, output) { dout, y in y > 0 ? dout : 0 }
    }
}
