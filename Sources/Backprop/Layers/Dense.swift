import MatrixKernels

/// Fully connected layer: `output[n, out] = Σ_in input[n, in] · weight[out, in] + bias[out]`.
///
/// Weight is `[outputSize, inputSize]` (PyTorch's `nn.Linear` layout), bias `[outputSize]`.
/// Input `[batch, inputSize]`, output `[batch, outputSize]`.
public final class Dense: Layer {
    public let inputSize: Int
    public let outputSize: Int
    /// `[outputSize, inputSize]`.
    public let weight: Parameter
    /// `[outputSize]`.
    public let bias: Parameter
    private var input = Tensor(shape: [0])
    /// Set by `Sequential` when a ReLU follows: applied to the output in place, while it is in
    /// cache, instead of as a separate pass (and the ReLU layer is skipped).
    var fusedReLU = false
    /// The last output, kept for the fused ReLU's backward mask.
    private var output = Tensor(shape: [0])

    public init(inputSize: Int, outputSize: Int, initializer: Initializer = .heNormal,
                random: inout RandomGenerator) throws(ArchitectureError) {
        guard inputSize > 0, outputSize > 0 else {
            throw ArchitectureError("dense: sizes must be positive, got \(inputSize) → \(outputSize)")
        }
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = Parameter(name: "weight", value: initializer.makeTensor(
            shape: [outputSize, inputSize], fanIn: inputSize, fanOut: outputSize, random: &random))
        bias = Parameter(name: "bias", value: Tensor(shape: [outputSize]))
    }

    public var spec: LayerSpec { .dense(inputSize: inputSize, outputSize: outputSize) }
    public var parameters: [Parameter] { [weight, bias] }

    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] {
        guard inputShape == [inputSize] else {
            throw ArchitectureError("dense expects input [\(inputSize)], got \(inputShape)"
                + (inputShape.count > 1 ? " (add a flatten layer before it)" : ""))
        }
        return [outputSize]
    }

    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        precondition(input.rank == 2 && input.shape[1] == inputSize,
                     "Dense.forward: expected [batch, \(inputSize)], got \(input.shape)")
        self.input = input
        let batch = input.shape[0]
        let (m, n, k) = (batch, outputSize, inputSize)
        let fusedReLU = self.fusedReLU
        let result = Tensor(shape: [batch, outputSize]) { out in
            bias.value.withUnsafeBufferPointer { b in
                for row in 0..<m { (out.baseAddress! + row * n).update(from: b.baseAddress!, count: n) }
            }
            input.withUnsafeBufferPointer { x in
                weight.value.withUnsafeBufferPointer { w in
                    // out[batch×out] += x[batch×in] · wᵀ, w stored [out×in].
                    context.kernels.multiply(MatrixProduct(
                        m: m, n: n, k: k,
                        a: MatrixOperand(x.baseAddress!, rowStride: k),
                        b: MatrixOperand(w.baseAddress!, rowStride: k, transposed: true),
                        c: out.baseAddress!, cRowStride: n, accumulate: true), threads: context.threads)
                }
            }
            if fusedReLU { reluForward(out.baseAddress!, out.baseAddress!, count: m * n) }
        }
        output = fusedReLU ? result : Tensor(shape: [0])
        return result
    }

    public func backward(_ incomingGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool) -> Tensor? {
        let batch = input.shape[0]
        precondition(incomingGradient.shape == [batch, outputSize],
                     "Dense.backward: expected [\(batch), \(outputSize)], got \(incomingGradient.shape)")
        // With a fused ReLU the incoming gradient is for the activated output: mask it first.
        let outputGradient = !fusedReLU ? incomingGradient : Tensor(shape: incomingGradient.shape) { masked in
            incomingGradient.withUnsafeBufferPointer { dout in
                output.withUnsafeBufferPointer { y in
                    reluBackward(dout.baseAddress!, output: y.baseAddress!, masked.baseAddress!, count: masked.count)
                }
            }
        }
        outputGradient.withUnsafeBufferPointer { dout in
            input.withUnsafeBufferPointer { x in
                // dweight[out×in] += doutᵀ[out×batch] · x[batch×in]
                weight.gradient.withUnsafeMutableBufferPointer { dw in
                    context.kernels.multiply(MatrixProduct(
                        m: outputSize, n: inputSize, k: batch,
                        a: MatrixOperand(dout.baseAddress!, rowStride: outputSize, transposed: true),
                        b: MatrixOperand(x.baseAddress!, rowStride: inputSize),
                        c: dw.baseAddress!, cRowStride: inputSize, accumulate: true), threads: context.threads)
                }
            }
            // dbias[out] += Σ_batch dout[batch, out]
            bias.gradient.withUnsafeMutableBufferPointer { db in
                for row in 0..<batch {
                    let source = dout.baseAddress! + row * outputSize
                    for j in 0..<outputSize { db[j] += source[j] }
                }
            }
        }
        guard needsInputGradient else { return nil }
        // dinput[batch×in] = dout[batch×out] · weight[out×in]
        return Tensor(shape: [batch, inputSize]) { dinp in
            outputGradient.withUnsafeBufferPointer { dout in
                weight.value.withUnsafeBufferPointer { w in
                    context.kernels.multiply(MatrixProduct(
                        m: batch, n: inputSize, k: outputSize,
                        a: MatrixOperand(dout.baseAddress!, rowStride: outputSize),
                        b: MatrixOperand(w.baseAddress!, rowStride: inputSize),
                        c: dinp.baseAddress!, cRowStride: inputSize, accumulate: false), threads: context.threads)
                }
            }
        }
    }
}
