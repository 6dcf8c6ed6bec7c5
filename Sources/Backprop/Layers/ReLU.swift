/// Rectified linear unit: `max(0, x)`. The gradient passes where the output is positive.
public final class ReLU: Layer {
    private var output = Tensor(shape: [0])

    public init() {}

    public var spec: LayerSpec { .relu }

    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        output = Tensor(shape: input.shape) { out in
            input.withUnsafeBufferPointer { reluForward($0.baseAddress!, out.baseAddress!, count: out.count) }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        precondition(outputGradient.shape == output.shape, "ReLU.backward: gradient shape \(outputGradient.shape) does not match the output \(output.shape)")
        return Tensor(shape: output.shape) { dinp in
            outputGradient.withUnsafeBufferPointer { dout in
                output.withUnsafeBufferPointer { y in
                    reluBackward(dout.baseAddress!, output: y.baseAddress!, dinp.baseAddress!, count: dinp.count)
                }
            }
        }
    }
}
