import MatrixKernels

extension ConvolutionStep {
    /// Whether inference convolves `input` in bands of output rows over the awake workers
    /// (`Parallel.withAwakeWorkers`): one sample through an im2col convolution.
    ///
    /// Why bands rather than the GEMM's own tiles: a tile reads im2col columns another thread
    /// wrote (663 KB for the MNIST CNN's second convolution), and in some processes that
    /// convolution took 136 µs on two threads against 105 on one (in bands: 96; measured with a
    /// temporary variant of `bench --profile cnn`, which now prints the banded one); each band
    /// unfolds the columns it multiplies, and only the input (86 KB) crosses between cores.
    func convolvesInBands(_ input: Tensor, direct: Bool, context: ExecutionContext) -> Bool {
        input.rank == 4 && input.shape[0] == 1 && !direct && context.threads > 1 && Parallel.workersAreAwake
            && geometry(height: input.shape[2], width: input.shape[3]).outputHeight >= 2 * context.threads
    }

    /// The inference forward of one sample `[1, c, h, w]`, its output rows cut into bands that
    /// run as parallel tasks: each unfolds its rows' im2col columns and multiplies them by the
    /// weight into its part of the convolution; the pooling or ReLU then runs on the whole map.
    /// Every output is the same sum in the same order as in ``convolve(_:_:_:argmax:_:channelSums:packedWeight:)``
    /// (the GEMM's order over k does not depend on its column tiling), so the results are the
    /// same bits.
    func convolveInBands(_ input: Tensor, _ weight: Tensor, _ bias: Tensor, context: ExecutionContext,
                         packedWeight prepacked: [Float]?) -> Tensor {
        let g = geometry(height: input.shape[2], width: input.shape[3])
        let (oh, ow, positions, patch, oc) = (g.outputHeight, g.outputWidth, g.outputPositions, g.patchSize, outputChannels)
        let kernels = context.kernels
        let packedWeight = prepacked ?? weight.withUnsafeBufferPointer {
            PanelPacking.packed(MatrixOperand($0.baseAddress!, rowStride: patch), rows: oc, depth: patch,
                                width: kernels.panelWidths.rows)
        }
        // About three bands per thread, so that a thread slowed by another process leaves its share.
        let bandRows = (oh + 3 * context.threads - 1) / (3 * context.threads)
        let bands = (oh + bandRows - 1) / bandRows
        let outputSize = outputShape.reduce(1, *)
        return Tensor(shape: [1] + outputShape) { out in
            input.withUnsafeBufferPointer { x in
            packedWeight.withUnsafeBufferPointer { packedWeight in
            bias.withUnsafeBufferPointer { b in
            WorkspacePool.shared.withWorkspace { workspace in
                // Pooled steps convolve into scratch ([oc, oh·ow], then pooled); the others into the output.
                let scratch = pool != nil ? workspace.floats(oc * positions + outputSize) : nil
                let convolved = scratch ?? out.baseAddress!
                Parallel.forEach(tasks: bands, threads: context.threads) { band in
                    let rows = (band * bandRows)..<min(oh, (band + 1) * bandRows)
                    let (first, count) = (rows.lowerBound * ow, rows.count * ow)
                    WorkspacePool.shared.withWorkspace { bandWorkspace in
                        let columns = bandWorkspace.floats(patch * count)
                        im2col(g, input: x.baseAddress!, columns: columns, outputRows: rows)
                        for channel in 0..<oc {
                            (convolved + channel * positions + first).update(repeating: b[channel], count: count)
                        }
                        kernels.multiply(MatrixProduct(
                            m: oc, n: count, k: patch, a: .packed(packedWeight.baseAddress!),
                            b: MatrixOperand(columns, rowStride: count),
                            c: convolved + first, cRowStride: positions, accumulate: true), threads: 1)
                    }
                }
                if let pool, let scratch {
                    (scratch + oc * positions).withMemoryRebound(to: Int32.self, capacity: outputSize) { indices in
                        maxPoolPlanes(scratch, planes: oc, height: oh, width: ow, kernelSize: pool.kernelSize,
                                      stride: pool.stride, output: out.baseAddress!, argmax: indices, relu: relu)
                    }
                } else if relu {
                    reluForward(convolved, convolved, count: oc * positions)
                }
            }
            }
            }
            }
        }
    }
}
