/// Reshapes each sample to a vector: `[n, d1, d2, ...]` → `[n, d1·d2·...]`, the bridge from
/// convolution to dense layers. Row-major order means no data moves.
public struct FlattenStep: Step {
    public let layers: Range<Int>
    public let inputShape: [Int]
    public let outputShape: [Int]

    public var description: String { "Flatten" }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], context: ExecutionContext) -> Tensor {
        input.reshaped([input.shape[0]] + outputShape)
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], memory: inout StepMemory,
                        context: inout ExecutionContext) -> Tensor {
        forward(input, parameters: parameters, buffers: buffers, context: context)
    }

    public func backward(_ outputGradient: Tensor, parameters: [Tensor], memory: StepMemory, gradients: inout [Tensor],
                         context: ExecutionContext, needsInputGradient: Bool) -> Tensor? {
        // In the forward pass this was a reshape: the gradient takes the input's shape back.
        needsInputGradient ? outputGradient.reshaped([outputGradient.shape[0]] + inputShape) : nil
    }
}
