import MatrixKernels

/// 2-D convolution (cross-correlation, as in PyTorch) over NCHW images, with square kernels,
/// stride and zero padding.
///
/// Weight `[outputChannels, inputChannels, k, k]`, bias `[outputChannels]`; input
/// `[batch, inputChannels, h, w]`, output `[batch, outputChannels, oh, ow]` with
/// oh = ⌊(h + 2·padding − k) / stride⌋ + 1 (likewise ow).
///
/// Each sample is one GEMM over its im2col columns, `out[oc, oh·ow] = weight[oc, c·k·k] ·
/// columns[c·k·k, oh·ow]`, which writes NCHW directly. Samples run in parallel; the columns
/// live in a per-task workspace and are rebuilt in backward rather than stored for the batch.
/// The weight is packed for the GEMM once per call, not once per sample, and backward writes
/// its columns in the GEMM's packed layout directly (`im2colPatchPanels`).
public final class Conv2D: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    /// `[outputChannels, inputChannels, kernelSize, kernelSize]`.
    public let weight: Parameter
    /// `[outputChannels]`.
    public let bias: Parameter
    private var input = Tensor(shape: [0])

    /// Weight-gradient partial sums are taken over this many groups of samples whatever the
    /// thread count, then added in group order, so gradients do not depend on `threads`.
    private static let gradientGroups = 16

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1,
                padding: Int = 0, initializer: Initializer = .heNormal,
                random: inout RandomGenerator) throws(ArchitectureError) {
        guard inputChannels > 0, outputChannels > 0, kernelSize > 0, stride > 0, padding >= 0 else {
            throw ArchitectureError("conv2d: channels, kernel size and stride must be positive and "
                + "padding non-negative, got \(inputChannels) → \(outputChannels), kernel \(kernelSize), "
                + "stride \(stride), padding \(padding)")
        }
        guard padding < kernelSize else {
            throw ArchitectureError("conv2d: padding \(padding) must be smaller than the kernel size \(kernelSize)")
        }
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        let patch = inputChannels * kernelSize * kernelSize
        weight = Parameter(name: "weight", value: initializer.makeTensor(
            shape: [outputChannels, inputChannels, kernelSize, kernelSize],
            fanIn: patch, fanOut: outputChannels * kernelSize * kernelSize, random: &random))
        bias = Parameter(name: "bias", value: Tensor(shape: [outputChannels]))
    }

    public var spec: LayerSpec {
        .conv2d(inputChannels: inputChannels, outputChannels: outputChannels,
                kernelSize: kernelSize, stride: stride, padding: padding)
    }
    public var parameters: [Parameter] { [weight, bias] }

    public func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int] {
        guard inputShape.count == 3 else {
            throw ArchitectureError("conv2d expects [channels, height, width], got \(inputShape)")
        }
        guard inputShape[0] == inputChannels else {
            throw ArchitectureError("conv2d expects \(inputChannels) input channels, got \(inputShape[0])")
        }
        let g = geometry(height: inputShape[1], width: inputShape[2])
        guard g.outputHeight >= 1, g.outputWidth >= 1 else {
            throw ArchitectureError("conv2d: a \(kernelSize)×\(kernelSize) kernel with padding \(padding) "
                + "does not fit a \(inputShape[1])×\(inputShape[2]) image")
        }
        return [outputChannels, g.outputHeight, g.outputWidth]
    }

    private func geometry(height: Int, width: Int) -> ConvolutionGeometry {
        ConvolutionGeometry(channels: inputChannels, height: height, width: width,
                            kernelSize: kernelSize, stride: stride, padding: padding)
    }

    /// A ReLU and/or max-pool that `Sequential` folds into this convolution: each sample's
    /// convolution output is activated and pooled while it is still in cache, and the full-size
    /// output never reaches memory. Backward needs only the pooled output and the argmax
    /// positions, since ReLU commutes with max and a pooled value > 0 says the ReLU passed it.
    struct Fusion: Equatable {
        var relu = false
        var poolKernelSize = 0
        var poolStride = 0
        var pools: Bool { poolKernelSize > 0 }
    }

    /// Set by `Sequential` when the following layers are a ReLU and/or a MaxPool2D.
    var fusion = Fusion()
    /// The last forward's output (after any fused ReLU and pooling), for the ReLU mask.
    private var output = Tensor(shape: [0])
    /// Per pooled output element, the flat index of its maximum in the convolution output plane.
    private var argmax: [Int32] = []

    public func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == inputChannels,
                     "Conv2D.forward: expected [batch, \(inputChannels), h, w], got \(input.shape)")
        self.input = input
        let batch = input.shape[0]
        let g = geometry(height: input.shape[2], width: input.shape[3])
        let (oh, ow, positions, patch, oc) = (g.outputHeight, g.outputWidth, g.outputPositions, g.patchSize, outputChannels)
        let fusion = self.fusion
        let (ph, pw) = fusion.pools ? ((oh - fusion.poolKernelSize) / fusion.poolStride + 1,
                                       (ow - fusion.poolKernelSize) / fusion.poolStride + 1) : (oh, ow)
        let outputSampleSize = oc * ph * pw
        if fusion.pools && argmax.count != batch * outputSampleSize {
            argmax = [Int32](repeating: 0, count: batch * outputSampleSize)
        }
        // Parallel over samples when there are several; a single sample parallelises its GEMM.
        let sampleThreads = batch >= 2 ? context.threads : 1
        let gemmThreads = batch >= 2 ? 1 : context.threads
        let kernels = context.kernels
        let widths = kernels.panelWidths
        output = Tensor(shape: [batch, oc, ph, pw]) { out in
            input.withUnsafeBufferPointer { x in
            weight.value.withUnsafeBufferPointer { w in
            bias.value.withUnsafeBufferPointer { b in
            argmax.withUnsafeMutableBufferPointer { argmax in
            WorkspacePool.shared.withWorkspace { shared in
                // Every sample multiplies by the same weight: pack it once for all of them.
                let packedWeight = shared.floats(PanelPacking.count(rows: oc, depth: patch, width: widths.rows))
                PanelPacking.pack(MatrixOperand(w.baseAddress!, rowStride: patch), rows: oc, depth: patch,
                                  width: widths.rows, into: packedWeight)
                Parallel.forEach(tasks: batch, threads: sampleThreads) { sample in
                    WorkspacePool.shared.withWorkspace { workspace in
                        let columns = workspace.floats(patch * positions + (fusion.pools ? oc * positions : 0))
                        im2col(g, input: x.baseAddress! + sample * g.inputSize, columns: columns)
                        // Pooled layers convolve into scratch; the others straight into the output.
                        let convolved = fusion.pools ? columns + patch * positions
                                                     : out.baseAddress! + sample * outputSampleSize
                        for channel in 0..<oc {
                            (convolved + channel * positions).update(repeating: b[channel], count: positions)
                        }
                        // convolved[oc × oh·ow] += weight[oc × patch] · columns[patch × oh·ow]
                        kernels.multiply(MatrixProduct(
                            m: oc, n: positions, k: patch, a: .packed(packedWeight),
                            b: MatrixOperand(columns, rowStride: positions),
                            c: convolved, cRowStride: positions, accumulate: true), threads: gemmThreads)
                        if fusion.pools {
                            maxPoolPlanes(convolved, planes: oc, height: oh, width: ow,
                                          kernelSize: fusion.poolKernelSize, stride: fusion.poolStride,
                                          output: out.baseAddress! + sample * outputSampleSize,
                                          argmax: argmax.baseAddress! + sample * outputSampleSize,
                                          relu: fusion.relu)
                        } else if fusion.relu {
                            reluForward(convolved, convolved, count: oc * positions)
                        }
                    }
                }
            }
            }
            }
            }
            }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor, context: ExecutionContext,
                         needsInputGradient: Bool) -> Tensor? {
        let batch = input.shape[0]
        let g = geometry(height: input.shape[2], width: input.shape[3])
        let (positions, patch, oc) = (g.outputPositions, g.patchSize, outputChannels)
        precondition(outputGradient.shape == output.shape,
                     "Conv2D.backward: gradient shape \(outputGradient.shape) does not match the output \(output.shape)")
        let fusion = self.fusion
        let outputSampleSize = output.count / batch
        let groupSize = (batch + Conv2D.gradientGroups - 1) / Conv2D.gradientGroups
        let groups = (batch + groupSize - 1) / groupSize
        let groupThreads = groups >= 2 ? context.threads : 1
        let gemmThreads = groups >= 2 ? 1 : context.threads
        let kernels = context.kernels
        let partialSize = oc * patch + oc   // weight gradient (or its transpose), then bias gradient, per group
        let widths = kernels.panelWidths
        let panelCount = PanelPacking.count(rows: patch, depth: positions, width: widths.columns)
        // The weight gradient is computed as dweightᵀ when that fills the kernel's tiles much
        // better: a first layer's patch (9 for a 3×3 kernel on one channel) fills 9 of a 32-wide
        // tile's columns as n, but 9 of 12 rows as m (measured 0.83 → 0.65 ms per MNIST batch).
        // Otherwise the columns are written as packed panels, which saves more than a few
        // percent of tile use gains (MNIST's second layer: 89 % → 100 % was 3 % slower).
        func tileUse(_ m: Int, _ n: Int) -> Double {
            Double(m * n) / Double(((m + widths.rows - 1) / widths.rows * widths.rows)
                                   * ((n + widths.columns - 1) / widths.columns * widths.columns))
        }
        let transposedWeightGradient = tileUse(patch, oc) > 1.25 * tileUse(oc, patch)
        let packedWeightCount = needsInputGradient ? PanelPacking.count(rows: patch, depth: oc, width: widths.rows) : 0
        // col2im accumulates, so the input gradient starts at zero.
        var inputGradient = Tensor(shape: needsInputGradient ? input.shape : [0])

        WorkspacePool.shared.withWorkspace { partialsWorkspace in
            let partials = partialsWorkspace.floats(groups * partialSize + packedWeightCount)
            // Every sample's input gradient multiplies by weightᵀ: pack it once for all of them.
            let packedWeight = partials + groups * partialSize
            if needsInputGradient {
                weight.value.withUnsafeBufferPointer { w in
                    PanelPacking.pack(MatrixOperand(w.baseAddress!, rowStride: patch, transposed: true),
                                      rows: patch, depth: oc, width: widths.rows, into: packedWeight)
                }
            }
            inputGradient.withUnsafeMutableBufferPointer { dinp in
            input.withUnsafeBufferPointer { x in
            outputGradient.withUnsafeBufferPointer { dout in
            output.withUnsafeBufferPointer { y in
            argmax.withUnsafeBufferPointer { argmax in
                Parallel.forEach(tasks: groups, threads: groupThreads) { group in
                    WorkspacePool.shared.withWorkspace { workspace in
                        let columns = workspace.floats(panelCount + patch * positions + oc * positions)
                        let columnGradient = columns + panelCount
                        let convolvedGradient = columnGradient + patch * positions
                        let dweight = partials + group * partialSize
                        let dbias = dweight + oc * patch
                        dbias.update(repeating: 0, count: oc)
                        let samples = (group * groupSize)..<min(batch, (group + 1) * groupSize)
                        for sample in samples {
                            // dLoss/d(convolution output) for this sample, [oc × oh·ow].
                            let doutSample = dout.baseAddress! + sample * outputSampleSize
                            let ySample = y.baseAddress! + sample * outputSampleSize
                            var dconv = UnsafePointer(doutSample)
                            if fusion.pools {
                                // In the forward pass this was: out[j] = relu(max over window) at argmax[j].
                                maxUnpoolPlanes(doutSample, reluOutput: fusion.relu ? ySample : nil,
                                                argmax: argmax.baseAddress! + sample * outputSampleSize,
                                                planes: oc, height: g.outputHeight, width: g.outputWidth,
                                                kernelSize: fusion.poolKernelSize, stride: fusion.poolStride,
                                                inputGradient: convolvedGradient)
                                dconv = UnsafePointer(convolvedGradient)
                            } else if fusion.relu {
                                reluBackward(doutSample, output: ySample, convolvedGradient, count: oc * positions)
                                dconv = UnsafePointer(convolvedGradient)
                            }
                            if transposedWeightGradient {
                                im2col(g, input: x.baseAddress! + sample * g.inputSize, columns: columns)
                                // dweightᵀ[patch × oc] (+)= columns[patch × oh·ow] · dconvᵀ[oh·ow × oc]
                                kernels.multiply(MatrixProduct(
                                    m: patch, n: oc, k: positions,
                                    a: MatrixOperand(columns, rowStride: positions),
                                    b: MatrixOperand(dconv, rowStride: positions, transposed: true),
                                    c: dweight, cRowStride: oc,
                                    accumulate: sample != samples.lowerBound), threads: gemmThreads)
                            } else {
                                im2colPatchPanels(g, input: x.baseAddress! + sample * g.inputSize, panels: columns,
                                                  width: widths.columns)
                                // dweight[oc × patch] (+)= dconv[oc × oh·ow] · columnsᵀ[oh·ow × patch]
                                kernels.multiply(MatrixProduct(
                                    m: oc, n: patch, k: positions,
                                    a: MatrixOperand(dconv, rowStride: positions), b: .packed(columns),
                                    c: dweight, cRowStride: patch,
                                    accumulate: sample != samples.lowerBound), threads: gemmThreads)
                            }
                            for channel in 0..<oc {
                                dbias[channel] += sum(dconv + channel * positions, count: positions)
                            }
                            guard needsInputGradient else { continue }
                            // dcolumns[patch × oh·ow] = weightᵀ[patch × oc] · dconv[oc × oh·ow]
                            kernels.multiply(MatrixProduct(
                                m: patch, n: positions, k: oc, a: .packed(packedWeight),
                                b: MatrixOperand(dconv, rowStride: positions),
                                c: columnGradient, cRowStride: positions,
                                accumulate: false), threads: gemmThreads)
                            col2im(g, columns: columnGradient,
                                   inputGradient: dinp.baseAddress! + sample * g.inputSize)
                        }
                    }
                }
            }
            }
            }
            }
            }
            // Add the groups' partial sums in group order, independent of the thread count.
            weight.gradient.withUnsafeMutableBufferPointer { dw in
                bias.gradient.withUnsafeMutableBufferPointer { db in
                    for group in 0..<groups {
                        let partial = partials + group * partialSize
                        if transposedWeightGradient {
                            for o in 0..<oc { for l in 0..<patch { dw[o * patch + l] += partial[l * oc + o] } }
                        } else {
                            for i in 0..<(oc * patch) { dw[i] += partial[i] }
                        }
                        for i in 0..<oc { db[i] += partial[oc * patch + i] }
                    }
                }
            }
        }
        return needsInputGradient ? inputGradient : nil
    }
}
