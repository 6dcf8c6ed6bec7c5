import MatrixKernels

extension ConvolutionStep {
    /// Whether inference convolves an input of `height`×`width` by ``WinogradConvolution``
    /// rather than im2col and GEMM: a 3×3 stride-1 convolution that is not direct (few input
    /// channels), followed by no pooling or by a 2×2 stride-2 max-pool whose windows are the
    /// Winograd tiles (even output sides).
    ///
    /// Training takes Winograd's forward too when the step pools and has no BatchNorm
    /// (``trainsByWinograd(height:width:)``); otherwise it keeps im2col and GEMM, so inference
    /// answers differ from training's forward by rounding.
    public func convolvesByWinograd(height: Int, width: Int) -> Bool {
        guard kernelSize == 3 && stride == 1
                && !usesDirectConvolution(patch: inputChannels * kernelSize * kernelSize) else { return false }
        guard let pool else { return true }
        let g = geometry(height: height, width: width)
        return pool.kernelSize == 2 && pool.stride == 2 && g.outputHeight % 2 == 0 && g.outputWidth % 2 == 0
    }

    /// Whether the training forward convolves by ``WinogradConvolution`` too: when it pools (the
    /// pooled output and the maxima's positions, `argmax`, are all that backward reads, and the
    /// pooled gradients read the input itself, not im2col's columns) and has no BatchNorm (whose
    /// backward reads the convolution's whole output). The MNIST CNN's second layer spent 11.1 ms
    /// of a 33 ms step (batch 64) in im2col and GEMM against 5.8 ms for Winograd's inference
    /// forward (`bench --profile cnn`, Zen 3). The sums differ from im2col's by rounding, so such
    /// a network's weights differ from the previous build's in the last bits; they still do not
    /// depend on the thread count (a tile's sums do not depend on how tiles are cut into blocks).
    public func trainsByWinograd(height: Int, width: Int) -> Bool {
        pool != nil && batchNorm == nil && convolvesByWinograd(height: height, width: width)
            && geometry(height: height, width: width).outputPositions < Int(Int32.max)
    }

    /// `weight` `[oc, c, 3, 3]` as ``WinogradConvolution`` reads it on `kernels`: the 16
    /// transformed weights, each packed as its products' A (panels MR wide), one after another.
    static func winogradWeight(_ weight: Tensor, kernels: KernelPath) -> [Float] {
        var packed: [Float] = []
        packWinogradWeight(weight, kernels: kernels, into: &packed)
        return packed
    }

    /// ``winogradWeight(_:kernels:)`` into `packed`, whose storage is reused once it is large
    /// enough: a training step rebuilds it from the current weight without allocating (the
    /// transform goes through a workspace).
    static func packWinogradWeight(_ weight: Tensor, kernels: KernelPath, into packed: inout [Float]) {
        let (oc, c) = (weight.shape[0], weight.shape[1])
        let width = kernels.panelWidths.rows
        let count = PanelPacking.count(rows: oc, depth: c, width: width)
        packed.resize(to: WinogradConvolution.places * count)
        WorkspacePool.shared.withWorkspace { workspace in
            let places = workspace.floats(WinogradConvolution.places * oc * c)
            weight.withUnsafeBufferPointer {
                WinogradConvolution.transformWeight($0.baseAddress!, outputChannels: oc, channels: c, into: places)
            }
            packed.withUnsafeMutableBufferPointer { p in
                for place in 0..<WinogradConvolution.places {
                    PanelPacking.pack(MatrixOperand(places + place * oc * c, rowStride: c), rows: oc, depth: c,
                                      width: width, into: p.baseAddress! + place * count)
                }
            }
        }
    }

    /// The forward of `input` `[n, c, h, w]` by ``WinogradConvolution`` (inference's, and
    /// training's behind a pool: ``trainsByWinograd(height:width:)``), with its
    /// epilogue (ReLU, pooling). `packedWeight` is the transformed weight packed for the context's
    /// kernel path, `bias` `[oc]`. Each sample's tiles are cut into blocks that run as parallel
    /// tasks: a batch of one still uses every thread. With pooling, `argmax` (room for the whole
    /// output) receives where each maximum came from, as the im2col path writes it.
    func convolveWinograd(_ input: Tensor, bias: Tensor, packedWeight: [Float], context: ExecutionContext,
                          argmax: UnsafeMutablePointer<Int32>? = nil) -> Tensor {
        precondition(input.rank == 4 && Array(input.shape.dropFirst()) == inputShape,
                     "ConvolutionStep.forward: expected [batch] + \(inputShape), got \(input.shape)")
        let batch = input.shape[0]
        let g = WinogradConvolution.Geometry(channels: inputChannels, height: input.shape[2], width: input.shape[3],
                                             padding: padding, outputChannels: outputChannels)
        let kernels = context.kernels
        let mode: WinogradConvolution.Output = pool == nil ? .plain(relu: relu) : .pooled(relu: relu)
        let tilesPerBlock = WinogradConvolution.tilesPerBlock(
            tiles: g.tiles, atLeast: batch >= context.threads ? 1 : (context.threads + batch - 1) / batch,
            multiple: kernels.panelWidths.columns)
        let blocks = (g.tiles + tilesPerBlock - 1) / tilesPerBlock
        let scratchCount = WinogradConvolution.scratchCount(g, tilesPerBlock: tilesPerBlock, tile: kernels.panelWidths,
                                                            lanes: kernels.lanes)
        let outputSampleSize = outputShape.reduce(1, *)
        return Tensor(shape: [batch] + outputShape) { out in
            input.withUnsafeBufferPointer { x in
            packedWeight.withUnsafeBufferPointer { packed in
            bias.withUnsafeBufferPointer { b in
                Parallel.forEach(tasks: batch * blocks, threads: context.threads) { task in
                    let (sample, block) = task.quotientAndRemainder(dividingBy: blocks)
                    WorkspacePool.shared.withWorkspace { workspace in
                        kernels.winogradConvolution(
                            g, input: x.baseAddress! + sample * g.channels * g.height * g.width,
                            packedWeight: packed.baseAddress!, bias: b.baseAddress!,
                            tiles: (block * tilesPerBlock)..<min(g.tiles, (block + 1) * tilesPerBlock),
                            tilesPerBlock: tilesPerBlock, output: out.baseAddress! + sample * outputSampleSize,
                            mode: mode, argmax: pool == nil ? nil : argmax.map { $0 + sample * outputSampleSize },
                            scratch: workspace.floats(scratchCount))
                    }
                }
            }
            }
            }
        }
    }
}
