// Legend: count elements of the batch, any shape; y = f(x) element by element.

/// An element-wise activation that no preceding step absorbed. Input and output have the same
/// shape.
public struct ActivationStep: Step {
    /// The function applied to every element.
    public enum Function: Sendable, Equatable {
        /// max(0, x); derivative 1 where the output is positive.
        case relu
        /// x for x > 0, slope·x otherwise.
        case leakyRelu(slope: Float)
        /// 1 / (1 + e^(−x)); derivative y·(1 − y).
        case sigmoid
        /// tanh x; derivative 1 − y².
        case tanh
    }

    public let layers: Range<Int>
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let function: Function

    public var description: String {
        switch function {
        case .relu: "ReLU"
        case let .leakyRelu(slope): "LeakyReLU \(slope)"
        case .sigmoid: "Sigmoid"
        case .tanh: "Tanh"
        }
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], context: ExecutionContext) -> Tensor {
        switch function {
        case .relu:
            // y = max(0, x)
            return Tensor(shape: input.shape) { out in
                input.withUnsafeBufferPointer { reluForward($0.baseAddress!, out.baseAddress!, count: out.count) }
            }
        case let .leakyRelu(slope):
            // y = x > 0 ? x : slope·x
            return Tensor(shape: input.shape) { out in
                input.withUnsafeBufferPointer { leakyReluForward($0.baseAddress!, out.baseAddress!, slope: slope, count: out.count) }
            }
        case .sigmoid:
            // Written for each sign so that exp never overflows: for x < 0, y = e^x / (1 + e^x).
            return mapElements(input) { x in
                if x >= 0 { return 1 / (1 + exponential(-x)) }
                let e = exponential(x)
                return e / (1 + e)
            }
        case .tanh:
            return mapElements(input) { hyperbolicTangent($0) }
        }
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], memory: inout StepMemory,
                        context: inout ExecutionContext) -> Tensor {
        let output = forward(input, parameters: parameters, buffers: buffers, context: context)
        // The leaky rectifier's derivative needs the input's sign; the others read their output.
        if case .leakyRelu = function { memory.input = input } else { memory.output = output }
        return output
    }

    public func backward(_ outputGradient: Tensor, parameters: [Tensor], memory: StepMemory, gradients: inout [Tensor],
                         context: ExecutionContext, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        switch function {
        case .relu:
            // In the forward pass this was: y = max(0, x), so dx = y > 0 ? dy : 0.
            let output = memory.output
            precondition(outputGradient.shape == output.shape,
                         "ReLU backward: gradient shape \(outputGradient.shape) does not match the output \(output.shape)")
            return Tensor(shape: output.shape) { dinp in
                outputGradient.withUnsafeBufferPointer { dout in
                    output.withUnsafeBufferPointer { y in
                        reluBackward(dout.baseAddress!, output: y.baseAddress!, dinp.baseAddress!, count: dinp.count)
                    }
                }
            }
        case let .leakyRelu(slope):
            // In the forward pass this was: y = x > 0 ? x : slope·x, so dx = x > 0 ? dy : slope·dy.
            let input = memory.input
            precondition(outputGradient.shape == input.shape,
                         "LeakyReLU backward: gradient shape \(outputGradient.shape) does not match the input \(input.shape)")
            return Tensor(shape: input.shape) { dinp in
                outputGradient.withUnsafeBufferPointer { dout in
                    input.withUnsafeBufferPointer { x in
                        leakyReluBackward(dout.baseAddress!, input: x.baseAddress!, dinp.baseAddress!, slope: slope,
                                          count: dinp.count)
                    }
                }
            }
        case .sigmoid:
            // In the forward pass this was: y = 1 / (1 + e^(−x)), so dx = dy·y·(1 − y).
            return zipElements(outputGradient, memory.output) { dout, y in dout * y * (1 - y) }
        case .tanh:
            // In the forward pass this was: y = tanh x, so dx = dy·(1 − y²).
            return zipElements(outputGradient, memory.output) { dout, y in dout * (1 - y * y) }
        }
    }
}

// MARK: - Reference

extension ActivationStep.Function {
    /// f(x) by its definition, in Double.
    public func reference(_ x: Float) -> Float {
        let v = Double(x)
        switch self {
        case .relu: return Float(max(0, v))
        case let .leakyRelu(slope): return Float(v > 0 ? v : Double(slope) * v)
        case .sigmoid: return Float(1 / (1 + exponentialDouble(-v)))
        case .tanh: return Float(hyperbolicTangentDouble(v))
        }
    }

    /// f′(x) by its definition, in Double.
    public func referenceDerivative(_ x: Float) -> Float {
        let v = Double(x)
        switch self {
        case .relu: return v > 0 ? 1 : 0
        case let .leakyRelu(slope): return v > 0 ? 1 : slope
        case .sigmoid:
            let y = 1 / (1 + exponentialDouble(-v))
            return Float(y * (1 - y))
        case .tanh:
            let y = hyperbolicTangentDouble(v)
            return Float(1 - y * y)
        }
    }
}
