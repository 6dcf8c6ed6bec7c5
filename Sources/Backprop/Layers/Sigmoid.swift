/// Logistic sigmoid: `1 / (1 + e^(−x))`, with derivative y·(1 − y).
public final class Sigmoid: Layer {
    private var output = Tensor(shape: [0])

    public init() {}

    public var spec: LayerSpec { .sigmoid }

    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        // Written for each sign so that exp never overflows: for x < 0, e^x / (1 + e^x).
        output = mapElements(input) { x in
            if x >= 0 { return 1 / (1 + exponential(-x)) }
            let e = exponential(x)
            return e / (1 + e)
        }
        return output
    }

    public func backward(_ outputGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        return zipElements(outputGradient, output) { dout, y in dout * y * (1 - y) }
    }
}
