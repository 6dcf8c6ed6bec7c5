import MatrixKernels

// Legend: n batch, c channels, h×w input, k×k window, s stride, oh×ow output
// (oh = ⌊(h − k)/s⌋ + 1); a plane is one channel of one sample.

/// 2-D max pooling over NCHW images that no convolution absorbed: each output is the largest
/// input in a k×k window. Input `[n, c, h, w]`, output `[n, c, oh, ow]`.
///
/// Training remembers the position of each maximum, and backward routes the gradient to it alone
/// (the first maximum in row-major order when several are equal).
public struct MaxPoolStep: Step {
    public let layers: Range<Int>
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let kernelSize: Int
    public let stride: Int

    public var description: String { "Max-pool \(kernelSize)×\(kernelSize)" + (stride != kernelSize ? " stride \(stride)" : "") }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], context: ExecutionContext) -> Tensor {
        var argmax = [Int32].uninitialized(count: input.shape[0] * outputShape.reduce(1, *))
        return argmax.withUnsafeMutableBufferPointer { pool(input, argmax: $0.baseAddress!, context) }
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], memory: inout StepMemory,
                        context: inout ExecutionContext) -> Tensor {
        memory.indices.resize(to: input.shape[0] * outputShape.reduce(1, *))
        memory.input = input   // a reference, for its shape
        return memory.indices.withUnsafeMutableBufferPointer { pool(input, argmax: $0.baseAddress!, context) }
    }

    private func pool(_ input: Tensor, argmax: UnsafeMutablePointer<Int32>, _ context: ExecutionContext) -> Tensor {
        precondition(input.rank == 4 && Array(input.shape.dropFirst()) == inputShape,
                     "MaxPoolStep.forward: expected [batch] + \(inputShape), got \(input.shape)")
        let (h, w) = (input.shape[2], input.shape[3])
        let (oh, ow) = (outputShape[1], outputShape[2])
        let planes = input.shape[0] * input.shape[1]
        let (k, s) = (kernelSize, stride)
        let threads = planes * h * w >= 1 << 16 ? context.threads : 1
        let planesPerTask = max(1, planes / (8 * threads))
        let tasks = (planes + planesPerTask - 1) / planesPerTask
        return Tensor(shape: [input.shape[0], input.shape[1], oh, ow]) { out in
            input.withUnsafeBufferPointer { x in
                Parallel.forEach(tasks: tasks, threads: threads) { task in
                    let first = task * planesPerTask
                    let count = min(planes, first + planesPerTask) - first
                    // out[plane, oy, ox] = max over the window, argmax[...] = its flat index in the plane
                    maxPoolPlanes(x.baseAddress! + first * h * w, planes: count, height: h, width: w,
                                  kernelSize: k, stride: s, output: out.baseAddress! + first * oh * ow,
                                  argmax: argmax + first * oh * ow, relu: false)
                }
            }
        }
    }

    public func backward(_ outputGradient: Tensor, parameters: [Tensor], memory: StepMemory, gradients: inout [Tensor],
                         context: ExecutionContext, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        let argmax = memory.indices
        precondition(outputGradient.count == argmax.count,
                     "MaxPoolStep.backward: gradient shape \(outputGradient.shape) does not match the output")
        let inputShape = memory.input.shape
        let (planes, h, w) = (inputShape[0] * inputShape[1], inputShape[2], inputShape[3])
        let (k, s) = (kernelSize, stride)
        let outputPlane = argmax.count / max(1, planes)
        let threads = planes * h * w >= 1 << 16 ? context.threads : 1
        let planesPerTask = max(1, planes / (8 * threads))
        let tasks = (planes + planesPerTask - 1) / planesPerTask
        var inputGradient = Tensor(shape: inputShape)
        inputGradient.withUnsafeMutableBufferPointer { dinp in
            outputGradient.withUnsafeBufferPointer { dout in
                argmax.withUnsafeBufferPointer { indices in
                    Parallel.forEach(tasks: tasks, threads: threads) { task in
                        let first = task * planesPerTask
                        let count = min(planes, first + planesPerTask) - first
                        // In the forward pass this was: out[j] = x[argmax[j]], so dx[argmax[j]] += dout[j].
                        maxUnpoolPlanes(dout.baseAddress! + first * outputPlane, reluOutput: nil,
                                        argmax: indices.baseAddress! + first * outputPlane, planes: count,
                                        height: h, width: w, kernelSize: k, stride: s,
                                        inputGradient: dinp.baseAddress! + first * h * w)
                    }
                }
            }
        }
        return inputGradient
    }
}

// MARK: - Reference

extension MaxPoolStep {
    /// Max-pooling by its definition, with a ReLU first when `relu` (as a convolution's epilogue
    /// applies it): out[n, c, y, x] = max over the window of relu?(input), first maximum on ties.
    /// Also returns, per output, the flat index of its maximum within its input plane.
    public static func referenceForward(input: Tensor, kernelSize k: Int, stride s: Int,
                                        relu: Bool = false) -> (output: Tensor, argmax: [Int32]) {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (oh, ow) = ((h - k) / s + 1, (w - k) / s + 1)
        var out = Tensor(shape: [n, c, oh, ow])
        var argmax = [Int32](repeating: 0, count: out.count)
        for plane in 0..<(n * c) {
            for y in 0..<oh {
                for x in 0..<ow {
                    var bestIndex = y * s * w + x * s
                    for i in 0..<k {
                        for j in 0..<k where input.scalars[plane * h * w + (y * s + i) * w + x * s + j]
                            > input.scalars[plane * h * w + bestIndex] {
                            bestIndex = (y * s + i) * w + x * s + j
                        }
                    }
                    let best = input.scalars[plane * h * w + bestIndex]
                    out.scalars[(plane * oh + y) * ow + x] = relu ? max(0, best) : best
                    argmax[(plane * oh + y) * ow + x] = Int32(bestIndex)
                }
            }
        }
        return (out, argmax)
    }

    /// The gradient of `referenceForward`: each output's gradient goes to the input its maximum
    /// came from (and nowhere when a ReLU before the pooling stopped it).
    public static func referenceBackward(outputGradient dout: Tensor, output: Tensor, argmax: [Int32],
                                         inputShape: [Int], relu: Bool = false) -> Tensor {
        let (h, w) = (inputShape[2], inputShape[3])
        let outputPlane = dout.count / (inputShape[0] * inputShape[1])
        var dinp = Tensor(shape: inputShape)
        for j in 0..<dout.count where !relu || output.scalars[j] > 0 {
            dinp.scalars[(j / outputPlane) * h * w + Int(argmax[j])] += dout.scalars[j]
        }
        return dinp
    }
}
