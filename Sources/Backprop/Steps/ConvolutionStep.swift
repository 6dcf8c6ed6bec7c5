import MatrixKernels

// Legend: n batch, c input channels, oc output channels, h×w input, k×k kernel, s stride,
// p zero padding, oh×ow convolution output (oh = ⌊(h + 2p − k)/s⌋ + 1), patch = c·k·k,
// positions = oh·ow; with a pooling epilogue pk×pk window, ps stride, ph×pw pooled output.

/// 2-D convolution (cross-correlation, as in PyTorch) over NCHW images, optionally followed in
/// the same pass by a ReLU and/or a max-pool (its epilogue, chosen when the network is compiled).
///
/// Parameters: weight `[oc, c, k, k]`, bias `[oc]`. Input `[n, c, h, w]`; output `[n, oc, oh, ow]`,
/// or `[n, oc, ph, pw]` with pooling.
///
/// Each sample is one GEMM over its im2col columns, `out[oc, oh·ow] = weight[oc, c·k·k] ·
/// columns[c·k·k, oh·ow]`, which writes NCHW directly. Samples run in parallel; the columns live
/// in a per-task workspace and are rebuilt in backward rather than stored for the batch. The
/// weight is packed for the GEMM once per call, not once per sample, and backward writes its
/// columns in the GEMM's packed layout directly (`im2colPatchPanels`). A stride-1 forward with
/// few input channels convolves each sample where it lies instead (`DirectConvolution`: the
/// same sums in the same order, so the same bits). A 3×3 stride-1 layer with more channels takes
/// Winograd's F(2×2, 3×3) in inference, and in training too when a 2×2 max-pool follows it and no
/// BatchNorm (`ConvolutionStep+Winograd.swift`).
///
/// The epilogue activates and pools each sample's convolution output while it is still in cache,
/// so the full-size output never reaches memory. Backward needs only the pooled output and the
/// argmax positions, since ReLU commutes with max and a pooled value > 0 says the ReLU passed it.
public struct ConvolutionStep: Step {
    public let layers: Range<Int>
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let parameterIndex: Int
    /// Weight and bias, then γ and β of a ``batchNorm`` (its parameters follow the convolution's).
    public var parameterCount: Int { batchNorm == nil ? 2 : 4 }
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    /// Epilogue: max(0, ·) on the convolution output.
    public let relu: Bool
    /// Epilogue: max-pooling window and stride, or nil.
    public let pool: (kernelSize: Int, stride: Int)?
    /// In inference plans: the BatchNorm after the convolution, folded into its weights.
    public var normalization: FoldedBatchNorm? = nil
    /// In training plans: the BatchNorm after the convolution, normalising with the batch's
    /// statistics between the convolution and the epilogue (see `ConvolutionStep+BatchNorm.swift`).
    public var batchNorm: BatchNormEpilogue? = nil

    /// Weight-gradient partial sums are taken over this many groups of samples whatever the
    /// thread count, then added in group order, so gradients do not depend on `threads`.
    static let gradientGroups = 16

    public var description: String {
        "Convolution \(inputChannels)→\(outputChannels) \(kernelSize)×\(kernelSize)"
            + (stride != 1 ? " stride \(stride)" : "") + (padding != 0 ? " padding \(padding)" : "")
            + (normalization != nil ? " + BatchNorm (folded)" : "") + (batchNorm != nil ? " + BatchNorm" : "")
            + (relu ? " + ReLU" : "") + (pool.map { " + max-pool \($0.kernelSize)×\($0.kernelSize)" + ($0.stride != $0.kernelSize ? " stride \($0.stride)" : "") } ?? "")
    }

    /// Whether the forward convolves each sample where it lies (``DirectConvolution``) instead of
    /// as a GEMM over its im2col columns: for stride 1, few input channels, and a patch of one
    /// depth block (then both give the same bits).
    func usesDirectConvolution(patch: Int) -> Bool {
        stride == 1 && inputChannels <= Self.directConvolutionChannels && patch <= MatrixProduct.depthBlock
    }

    /// Input channels up to which the forward convolves directly.
    static let directConvolutionChannels = 8

    func geometry(height: Int, width: Int) -> ConvolutionGeometry {
        ConvolutionGeometry(channels: inputChannels, height: height, width: width,
                            kernelSize: kernelSize, stride: stride, padding: padding)
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], context: ExecutionContext) -> Tensor {
        // Outside training a BatchNorm normalises with its running statistics: it folds.
        // The weight [oc, c·k·k] is the product's A, packed MR wide (a direct convolution reads it as it is).
        let direct = usesDirectConvolution(patch: inputChannels * kernelSize * kernelSize)
        if input.rank == 4 && convolvesByWinograd(height: input.shape[2], width: input.shape[3]) {
            let (bias, packed) = PreparedWeights.winogradWeights(
                parameterIndex: parameterIndex, normalization: normalization ?? batchNorm?.folded, parameters: parameters,
                buffers: buffers, context: context)
            return convolveWinograd(input, bias: bias, packedWeight: packed, context: context)
        }
        let (weight, bias, packed) = PreparedWeights.inferenceWeights(
            parameterIndex: parameterIndex, normalization: normalization ?? batchNorm?.folded, parameters: parameters,
            buffers: buffers, context: context, packedWidth: direct ? nil : context.kernels.panelWidths.rows)
        if convolvesInBands(input, direct: direct, context: context) {
            return convolveInBands(input, weight, bias, context: context, packedWeight: packed)
        }
        return convolve(input, weight, bias, argmax: nil, context, packedWeight: packed)
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], memory: inout StepMemory,
                        context: inout ExecutionContext) -> Tensor {
        require(normalization == nil, "ConvolutionStep: a folded BatchNorm is for inference plans only")
        if batchNorm != nil {
            return normalizingForward(input, parameters: parameters, memory: &memory, context: &context)
        }
        memory.indices.resize(to: pool == nil ? 0 : input.shape[0] * outputShape.reduce(1, *))
        let (weight, bias) = (parameters[parameterIndex], parameters[parameterIndex + 1])
        let byWinograd = input.rank == 4 && trainsByWinograd(height: input.shape[2], width: input.shape[3])
        if byWinograd { Self.packWinogradWeight(weight, kernels: context.kernels, into: &memory.winogradWeight) }
        let output = memory.indices.withUnsafeMutableBufferPointer { argmax in
            byWinograd ? convolveWinograd(input, bias: bias, packedWeight: memory.winogradWeight, context: context,
                                          argmax: argmax.baseAddress)
                       : convolve(input, weight, bias, argmax: argmax.baseAddress, context)
        }
        memory.input = input
        memory.output = output
        return output
    }

    /// The forward pass. When the step pools, `argmax` receives where each pooled output came
    /// from (room for all of them), or is nil when nothing will read it: inference, where each
    /// sample's indices go to scratch instead (at batch 1000, 37 MB the MNIST CNN wrote and
    /// dropped).
    ///
    /// With `channelSums`, the epilogue is left for later: the output is the convolution alone,
    /// `[n, oc, oh, ow]`, and each sample writes the sum of each channel's values into
    /// `channelSums[sample, oc]` while it is still in cache. `packedWeight`, when given, is
    /// `weight` packed as the product's A operand already.
    func convolve(_ input: Tensor, _ weight: Tensor, _ bias: Tensor, argmax: UnsafeMutablePointer<Int32>?,
                  _ context: ExecutionContext, channelSums: UnsafeMutablePointer<Float>? = nil,
                  packedWeight prepacked: [Float]? = nil) -> Tensor {
        precondition(input.rank == 4 && Array(input.shape.dropFirst()) == inputShape,
                     "ConvolutionStep.forward: expected [batch] + \(inputShape), got \(input.shape)")
        let batch = input.shape[0]
        let g = geometry(height: input.shape[2], width: input.shape[3])
        let (oh, ow, positions, patch, oc) = (g.outputHeight, g.outputWidth, g.outputPositions, g.patchSize, outputChannels)
        let (relu, pool) = channelSums == nil ? (self.relu, self.pool) : (false, nil)
        let sampleShape = channelSums == nil ? outputShape : [oc, oh, ow]
        let outputSampleSize = sampleShape.reduce(1, *)
        // Parallel over samples when there are several; a single sample parallelises its GEMM.
        let sampleThreads = batch >= 2 ? context.threads : 1
        let gemmThreads = batch >= 2 ? 1 : context.threads
        let kernels = context.kernels
        let widths = kernels.panelWidths
        let direct = usesDirectConvolution(patch: patch)
        let paddedWidth = DirectConvolution.paddedWidth(outputWidth: ow, kernelSize: kernelSize, lanes: kernels.lanes)
        let paddedSize = inputChannels * (oh + kernelSize - 1) * paddedWidth
        // Every sample multiplies by the same weight: pack it once for all of them (unless the
        // caller did).
        let packedWeight = direct ? [] : prepacked ?? weight.withUnsafeBufferPointer {
            PanelPacking.packed(MatrixOperand($0.baseAddress!, rowStride: patch), rows: oc, depth: patch, width: widths.rows)
        }
        return Tensor(shape: [batch] + sampleShape) { out in
            input.withUnsafeBufferPointer { x in
            packedWeight.withUnsafeBufferPointer { packedWeight in
            bias.withUnsafeBufferPointer { b in
                Parallel.forEach(tasks: batch, threads: sampleThreads) { sample in
                    WorkspacePool.shared.withWorkspace { workspace in
                        let scratchArgmax = pool != nil && argmax == nil ? outputSampleSize : 0
                        let columns = workspace.floats((direct ? paddedSize : patch * positions)
                                                       + (pool != nil ? oc * positions : 0) + scratchArgmax)
                        if direct {
                            // columns[c, h + 2p, paddedWidth] = x[sample] with its zero padding
                            padded(g, input: x.baseAddress! + sample * g.inputSize, into: columns, width: paddedWidth)
                        } else {
                            // columns[patch × oh·ow] = im2col(x[sample])
                            im2col(g, input: x.baseAddress! + sample * g.inputSize, columns: columns)
                        }
                        // Pooled steps convolve into scratch; the others straight into the output.
                        let convolved = pool != nil ? columns + (direct ? paddedSize : patch * positions)
                                                    : out.baseAddress! + sample * outputSampleSize
                        // convolved[oc × oh·ow] = bias + weight[oc × patch] · columns[patch × oh·ow]
                        if direct {
                            weight.withUnsafeBufferPointer { w in
                                kernels.directConvolution(weight: w.baseAddress!, bias: b.baseAddress!, outputChannels: oc,
                                                          channels: inputChannels, kernelSize: kernelSize, padded: columns,
                                                          paddedWidth: paddedWidth, outputHeight: oh, outputWidth: ow,
                                                          output: convolved)
                            }
                        } else {
                            for channel in 0..<oc {
                                (convolved + channel * positions).update(repeating: b[channel], count: positions)
                            }
                            kernels.multiply(MatrixProduct(
                                m: oc, n: positions, k: patch, a: .packed(packedWeight.baseAddress!),
                                b: MatrixOperand(columns, rowStride: positions),
                                c: convolved, cRowStride: positions, accumulate: true), threads: gemmThreads)
                        }
                        if let channelSums {
                            for channel in 0..<oc {
                                channelSums[sample * oc + channel] = sum(convolved + channel * positions, count: positions)
                            }
                        } else if let pool {
                            // out[oc × ph·pw] = maxpool(relu?(convolved)), argmax[j] = where out[j] came from
                            func poolSample(into indices: UnsafeMutablePointer<Int32>) {
                                maxPoolPlanes(convolved, planes: oc, height: oh, width: ow,
                                              kernelSize: pool.kernelSize, stride: pool.stride,
                                              output: out.baseAddress! + sample * outputSampleSize,
                                              argmax: indices, relu: relu)
                            }
                            if let argmax {
                                poolSample(into: argmax + sample * outputSampleSize)
                            } else {
                                (convolved + oc * positions)
                                    .withMemoryRebound(to: Int32.self, capacity: outputSampleSize, poolSample(into:))
                            }
                        } else if relu {
                            // out = max(0, convolved), in place
                            reluForward(convolved, convolved, count: oc * positions)
                        }
                    }
                }
            }
            }
            }
        }
    }

    public func backward(_ outputGradient: Tensor, parameters: [Tensor], memory: StepMemory, gradients: inout [Tensor],
                         context: ExecutionContext, needsInputGradient: Bool) -> Tensor? {
        let (input, output) = (memory.input, memory.output)
        let batch = input.shape[0]
        let g = geometry(height: input.shape[2], width: input.shape[3])
        let (positions, patch, oc) = (g.outputPositions, g.patchSize, outputChannels)
        precondition(outputGradient.shape == output.shape,
                     "ConvolutionStep.backward: gradient shape \(outputGradient.shape) does not match the output \(output.shape)")
        let groupSize = (batch + Self.gradientGroups - 1) / Self.gradientGroups
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
        // Behind a max-pool (and no BatchNorm, whose backward spreads the gradient over every
        // position), the weight and input gradients take only the positions each window's maximum
        // came from (`PooledWeightGradient`, `PooledInputGradient`): a quarter of the dense
        // products' terms for a 2×2 pool. They read and write each patch where it lies in the
        // sample's input, laid out channels-last with its padding (`channelsLast`), whose offsets
        // must fit the kernels' Int32 origins.
        let paddedImage = (g.height + 2 * g.padding) * (g.width + 2 * g.padding) * g.channels
        let pooledGradients = pool != nil && batchNorm == nil && paddedImage < Int(Int32.max)
            && positions * patch < Int(Int32.max)
        // A first layer of few channels (k·c shorter than a vector: 3 floats for MNIST's 3×3) has
        // runs too short for the vectors; its weight gradient reads im2col's patches as rows
        // instead (one run of c·k·k each: 9 floats), in the weight's own order. (The MNIST
        // network's first layer's backward took 1.23 ms per batch of 64 from channels-last
        // against 0.98 from patch rows, `bench --profile digits`, Zen 3.)
        let patchRows = pooledGradients && !needsInputGradient && g.kernelSize * g.channels < kernels.lanes
        let pooledSource = patchRows ? patch * positions : paddedImage
        let pooledCount = pool == nil ? 0 : outputShape[1] * outputShape[2]
        let transposedWeightGradient = !pooledGradients && tileUse(patch, oc) > 1.25 * tileUse(oc, patch)
        let packedWeightCount = !needsInputGradient ? 0
            : pooledGradients ? oc * patch : PanelPacking.count(rows: patch, depth: oc, width: widths.rows)
        // col2im accumulates, so the input gradient starts at zero.
        var inputGradient = Tensor(shape: needsInputGradient ? input.shape : [0])
        let weight = parameters[parameterIndex]
        // With a BatchNorm: per channel μ, then k1, k2, k3 of dconv = k1·dy + k2·(convolved − μ) + k3,
        // from sums over the whole batch (this also adds dγ and dβ).
        let normalization = batchNorm.map { _ in
            normalizationCoefficients(outputGradient, parameters: parameters, memory: memory, gradients: &gradients,
                                      context: context)
        } ?? []
        let convolvedAll = memory.beforeNormalization

        WorkspacePool.shared.withWorkspace { partialsWorkspace in
            let partials = partialsWorkspace.floats(groups * partialSize + packedWeightCount + (pooledGradients ? positions : 0))
            // Every sample's input gradient multiplies by weightᵀ: pack it once for all of them
            // (pooled: the weight with its places channels-last, as the patches are read).
            let packedWeight = partials + groups * partialSize
            if needsInputGradient {
                weight.withUnsafeBufferPointer { w in
                    if pooledGradients {
                        let (c, kk) = (g.channels, g.kernelSize * g.kernelSize)
                        for o in 0..<oc {
                            for channel in 0..<c {
                                for place in 0..<kk {
                                    packedWeight[o * patch + place * c + channel] = w[o * patch + channel * kk + place]
                                }
                            }
                        }
                    } else {
                        PanelPacking.pack(MatrixOperand(w.baseAddress!, rowStride: patch, transposed: true),
                                          rows: patch, depth: oc, width: widths.rows, into: packedWeight)
                    }
                }
            }
            // Pooled: where the patch under each output position starts in the input channels-last,
            // or its row among the patch rows (a table, so that no sample divides to find a
            // maximum's row and column).
            let paddedWidth = g.width + 2 * g.padding
            let originOfPosition = UnsafeMutableRawPointer(packedWeight + packedWeightCount).assumingMemoryBound(to: Int32.self)
            if pooledGradients {
                for oy in 0..<g.outputHeight {
                    for ox in 0..<g.outputWidth {
                        let position = oy * g.outputWidth + ox
                        originOfPosition[position] = Int32(patchRows ? position * patch
                                                                     : (oy * paddedWidth + ox) * g.stride * g.channels)
                    }
                }
            }
            inputGradient.withUnsafeMutableBufferPointer { dinp in
            input.withUnsafeBufferPointer { x in
            outputGradient.withUnsafeBufferPointer { dout in
            output.withUnsafeBufferPointer { y in
            memory.indices.withUnsafeBufferPointer { argmax in
            convolvedAll.withUnsafeBufferPointer { convolvedAll in
            normalization.withUnsafeBufferPointer { k in
                Parallel.forEach(tasks: groups, threads: groupThreads) { group in
                    WorkspacePool.shared.withWorkspace { workspace in
                        // Columns and their gradient, dconv (for gradients by GEMM); for pooled
                        // gradients instead, the input channels-last and then its gradient (and a
                        // vector of zeros after it), the pooled gradients' factors and their
                        // patches' origins.
                        let denseScratch = pooledGradients ? (patchRows ? patch * positions : 0)
                            : panelCount + patch * positions + oc * positions
                        let pooledScratch = pooledGradients ? pooledSource + kernels.lanes + 2 * oc * pooledCount : 0
                        let columns = workspace.floats(denseScratch + pooledScratch)
                        let columnGradient = columns + panelCount
                        let convolvedGradient = columnGradient + patch * positions
                        let image = columns + denseScratch
                        let factors = image + pooledSource + kernels.lanes
                        let origins = UnsafeMutableRawPointer(factors + oc * pooledCount).assumingMemoryBound(to: Int32.self)
                        let window = patchRows ? PooledWeightGradient.Window(runs: 1, length: patch, stride: 0)
                            : PooledWeightGradient.Window(runs: g.kernelSize, length: g.kernelSize * g.channels,
                                                          stride: paddedWidth * g.channels)
                        if pooledGradients {
                            // A vector's reach past the last run reads zeros.
                            (image + pooledSource).update(repeating: 0, count: kernels.lanes)
                        }
                        let dweight = partials + group * partialSize
                        let dbias = dweight + oc * patch
                        dbias.update(repeating: 0, count: oc)
                        let samples = (group * groupSize)..<min(batch, (group + 1) * groupSize)
                        for sample in samples {
                            if pooledGradients {
                                if patchRows {
                                    // image[oh·ow × patch] = columnsᵀ, the input patch under each position
                                    im2col(g, input: x.baseAddress! + sample * g.inputSize, columns: columns)
                                    kernels.transpose(columns, rows: patch, columns: positions, sourceStride: positions,
                                                      into: image, destinationStride: patch, adding: false)
                                } else {
                                    // The input channels-last: the patch under a position is k runs of
                                    // k·c floats there, read in place (86 KB for the MNIST CNN's second
                                    // layer instead of im2col's 663 KB of columns, transposed).
                                    channelsLast(g, input: x.baseAddress! + sample * g.inputSize, into: image, kernels: kernels)
                                }
                                let outputSampleSize = oc * pooledCount
                                let sampleArgmax = argmax.baseAddress! + sample * outputSampleSize
                                for i in 0..<outputSampleSize { origins[i] = originOfPosition[Int(sampleArgmax[i])] }
                                // dweight[oc × (kernel row, kernel column, channel)] (+)= Σ over pooled
                                // outputs of dpool · the patch under its maximum, a row of pooled
                                // outputs at a time (their patches share a few input rows)
                                kernels.pooledWeightGradient(
                                    gradient: dout.baseAddress! + sample * outputSampleSize,
                                    reluOutput: relu ? y.baseAddress! + sample * outputSampleSize : nil,
                                    origins: origins, outputChannels: oc, pooled: pooledCount, group: outputShape[2],
                                    source: image, window: window, dweight: dweight,
                                    accumulate: sample != samples.lowerBound, factors: factors)
                                // dbias[oc] += Σ over pooled outputs of the gradients the kernel
                                // left in `factors` (the pooling's and ReLU's)
                                for channel in 0..<oc {
                                    dbias[channel] += sum(factors + channel * pooledCount, count: pooledCount)
                                }
                                guard needsInputGradient else { continue }
                                // dx: each pooled output's gradient times the weight, added under the
                                // patch of its maximum, channels-last where the input was, then laid
                                // back out as [c, h, w] without the padding.
                                image.update(repeating: 0, count: paddedImage)
                                kernels.pooledInputGradient(factors: factors, origins: origins, outputChannels: oc,
                                                            pooled: pooledCount, group: outputShape[2], weight: packedWeight,
                                                            window: window, inputGradient: image)
                                fromChannelsLast(g, image: image, into: dinp.baseAddress! + sample * g.inputSize,
                                                 kernels: kernels)
                                continue
                            }
                            // dLoss/d(convolution output) for this sample, [oc × oh·ow].
                            var dconv = epilogueGradient(sample: sample, outputGradient: dout.baseAddress!,
                                                         output: y.baseAddress!, argmax: argmax.baseAddress,
                                                         height: g.outputHeight, width: g.outputWidth,
                                                         scratch: convolvedGradient)
                            if !k.isEmpty {
                                // In the forward pass this was: normalised = γ·(convolved − μ)·r + β.
                                for channel in 0..<oc {
                                    let offset = channel * positions
                                    normalizationBackward(dconv + offset,
                                                          input: convolvedAll.baseAddress! + sample * oc * positions + offset,
                                                          mean: k[channel], k1: k[oc + channel], k2: k[2 * oc + channel],
                                                          k3: k[3 * oc + channel], into: convolvedGradient + offset,
                                                          count: positions)
                                }
                                dconv = UnsafePointer(convolvedGradient)
                            }
                            // In the forward pass this was: convolved = bias + weight · columns.
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
                            // dbias[oc] += Σ_positions dconv[oc, ·]
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
                            // In the forward pass this was: columns = im2col(x), so dx += col2im(dcolumns).
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
            }
            }
            // Add the groups' partial sums in group order, independent of the thread count.
            gradients.withUnsafeMutableBufferPointer { all in
                all[parameterIndex].withUnsafeMutableBufferPointer { dw in
                    all[parameterIndex + 1].withUnsafeMutableBufferPointer { db in
                        precondition(dw.count == oc * patch && db.count == oc,
                                     "ConvolutionStep.backward: gradients do not have the parameters' shapes")
                        for group in 0..<groups {
                            let partial = partials + group * partialSize
                            if transposedWeightGradient {
                                for o in 0..<oc { for l in 0..<patch { dw[o * patch + l] += partial[l * oc + o] } }
                            } else if pooledGradients && !patchRows {
                                // The partial's places are (kernel row, kernel column, channel); the
                                // weight's (channel, kernel row, kernel column).
                                let (c, kk) = (g.channels, g.kernelSize * g.kernelSize)
                                for o in 0..<oc {
                                    for channel in 0..<c {
                                        for place in 0..<kk { dw[o * patch + channel * kk + place] += partial[o * patch + place * c + channel] }
                                    }
                                }
                            } else {
                                for i in 0..<(oc * patch) { dw[i] += partial[i] }
                            }
                            for i in 0..<oc { db[i] += partial[oc * patch + i] }
                        }
                    }
                }
            }
        }
        return needsInputGradient ? inputGradient : nil
    }
}

// MARK: - Reference

extension ConvolutionStep {
    /// The convolution by its definition, summed in Double, without im2col, GEMM or epilogue:
    /// out[n, o, y, x] = bias[o] + Σ_{ci, i, j} weight[o, ci, i, j] · input[n, ci, y·s − p + i, x·s − p + j].
    public static func referenceForward(input: Tensor, weight: Tensor, bias: Tensor, stride s: Int,
                                        padding p: Int) -> Tensor {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (oc, k) = (weight.shape[0], weight.shape[2])
        let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)
        var out = Tensor(shape: [n, oc, oh, ow])
        for b in 0..<n {
            for o in 0..<oc {
                for y in 0..<oh {
                    for x in 0..<ow {
                        var total = Double(bias.scalars[o])
                        for ci in 0..<c {
                            for i in 0..<k {
                                for j in 0..<k {
                                    let (iy, ix) = (y * s - p + i, x * s - p + j)
                                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                    total += Double(weight[o, ci, i, j]) * Double(input[b, ci, iy, ix])
                                }
                            }
                        }
                        out[b, o, y, x] = Float(total)
                    }
                }
            }
        }
        return out
    }

    /// The gradients of `referenceForward` by its definition: every term
    /// weight[o, ci, i, j] · input[n, ci, iy, ix] of out[n, o, y, x] sends dout[n, o, y, x] times the
    /// other factor to each factor's gradient.
    public static func referenceBackward(outputGradient dout: Tensor, input: Tensor, weight: Tensor, stride s: Int,
                                         padding p: Int) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (oc, k) = (weight.shape[0], weight.shape[2])
        let (oh, ow) = (dout.shape[2], dout.shape[3])
        var dinp = [Double](repeating: 0, count: input.count)
        var dweight = [Double](repeating: 0, count: weight.count)
        var dbias = [Double](repeating: 0, count: oc)
        for b in 0..<n {
            for o in 0..<oc {
                for y in 0..<oh {
                    for x in 0..<ow {
                        let g = Double(dout[b, o, y, x])
                        dbias[o] += g
                        for ci in 0..<c {
                            for i in 0..<k {
                                for j in 0..<k {
                                    let (iy, ix) = (y * s - p + i, x * s - p + j)
                                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                    dweight[((o * c + ci) * k + i) * k + j] += g * Double(input[b, ci, iy, ix])
                                    dinp[((b * c + ci) * h + iy) * w + ix] += g * Double(weight[o, ci, i, j])
                                }
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(shape: input.shape, scalars: dinp.map(Float.init)),
                Tensor(shape: weight.shape, scalars: dweight.map(Float.init)),
                Tensor(shape: [oc], scalars: dbias.map(Float.init)))
    }
}
