import MatrixKernels

/// 2-D max pooling over NCHW images: each output is the largest input in a k×k window.
///
/// Input `[batch, c, h, w]`, output `[batch, c, oh, ow]` with oh = ⌊(h − k) / stride⌋ + 1.
/// The position of each maximum is remembered, and backward routes the gradient to it alone
/// (the first maximum in row-major order when several are equal).
public final class MaxPool2D: Layer {
    public let kernelSize: Int
    public let stride: Int
    private var inputShape: [Int] = []
    /// Per output element, the flat index of its maximum within the input plane.
    private var argmax: [Int32] = []

    public init(kernelSize: Int, stride: Int? = nil) throws(ArchitectureError) {
        let stride = stride ?? kernelSize
        guard kernelSize > 0, stride > 0 else {
            throw ArchitectureError("maxPool2d: kernel size and stride must be positive, got \(kernelSize), \(stride)")
        }
        self.kernelSize = kernelSize
        self.stride = stride
    }

    public var spec: LayerSpec { .maxPool2d(kernelSize: kernelSize, stride: stride) }

    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] {
        guard inputShape.count == 3 else {
            throw ArchitectureError("maxPool2d expects [channels, height, width], got \(inputShape)")
        }
        guard inputShape[1] >= kernelSize, inputShape[2] >= kernelSize else {
            throw ArchitectureError("maxPool2d: a \(kernelSize)×\(kernelSize) window does not fit "
                + "a \(inputShape[1])×\(inputShape[2]) image")
        }
        guard inputShape[1] * inputShape[2] <= Int(Int32.max) else {
            throw ArchitectureError("maxPool2d: image planes above 2³¹ pixels are not supported")
        }
        return [inputShape[0], (inputShape[1] - kernelSize) / stride + 1, (inputShape[2] - kernelSize) / stride + 1]
    }

    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        precondition(input.rank == 4, "MaxPool2D.forward: expected [batch, c, h, w], got \(input.shape)")
        inputShape = input.shape
        let (h, w) = (input.shape[2], input.shape[3])
        let (oh, ow) = ((h - kernelSize) / stride + 1, (w - kernelSize) / stride + 1)
        let planes = input.shape[0] * input.shape[1]
        let (k, s) = (kernelSize, stride)
        if argmax.count != planes * oh * ow { argmax = [Int32](repeating: 0, count: planes * oh * ow) }
        let threads = planes * h * w >= 1 << 16 ? context.threads : 1
        let planesPerTask = max(1, planes / (8 * threads))
        let tasks = (planes + planesPerTask - 1) / planesPerTask
        return Tensor(shape: [input.shape[0], input.shape[1], oh, ow]) { out in
            input.withUnsafeBufferPointer { x in
            argmax.withUnsafeMutableBufferPointer { indices in
                Parallel.forEach(tasks: tasks, threads: threads) { task in
                    let first = task * planesPerTask
                    let count = min(planes, first + planesPerTask) - first
                    maxPoolPlanes(x.baseAddress! + first * h * w, planes: count, height: h, width: w,
                                  kernelSize: k, stride: s, output: out.baseAddress! + first * oh * ow,
                                  argmax: indices.baseAddress! + first * oh * ow, relu: false)
                }
            }
            }
        }
    }

    public func backward(_ outputGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        precondition(outputGradient.count == argmax.count,
                     "MaxPool2D.backward: gradient shape \(outputGradient.shape) does not match the output")
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
