/// Hyperbolic tangent, with derivative 1 − y².
public final class Tanh: Layer {
    private var output = Tensor(shape: [0])

    public init() {}

    public var spec: LayerSpec { .tanh }

    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        output = mapElements(input) { hyperbolicTangent($0) }
        return output
    }

    public func backward(_ outputGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        return zipElements(outputGradient, output) { dout, y in dout * (1 - y * y) }
    }
}
