/// Leaky rectifier: `x` for x > 0, `slope · x` otherwise, so negative units still learn.
public final class LeakyReLU: Layer {
    /// The slope for negative inputs, in [0, 1).
    public let slope: Float
    private var input = Tensor(shape: [0])

    public init(slope: Float = 0.01) throws(ArchitectureError) {
        guard slope >= 0, slope < 1 else {
            throw ArchitectureError("leakyRelu: slope must be in [0, 1), got \(slope)")
        }
        self.slope = slope
    }

    public var spec: LayerSpec { .leakyRelu(slope: slope) }

    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        self.input = input
        return Tensor(shape: input.shape) { out in
            input.withUnsafeBufferPointer { leakyReluForward($0.baseAddress!, out.baseAddress!, slope: slope, count: out.count) }
        }
    }

    public func backward(_ outputGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        precondition(outputGradient.shape == input.shape, "LeakyReLU.backward: gradient shape \(outputGradient.shape) does not match the input \(input.shape)")
        return Tensor(shape: input.shape) { dinp in
            outputGradient.withUnsafeBufferPointer { dout in
                input.withUnsafeBufferPointer { x in
                    leakyReluBackward(dout.baseAddress!, input: x.baseAddress!, dinp.baseAddress!, slope: slope, count: dinp.count)
                }
            }
        }
    }
}
