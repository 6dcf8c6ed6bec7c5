import MatrixKernels

// Legend as in ConvolutionStep.swift; M = n·oh·ow values per channel (every rank's rows in
// data-parallel training), μ, r = 1/√(σ² + ε) the batch statistics of one channel.

/// A BatchNorm that a training plan runs inside the convolution before it (`conv → BatchNorm →
/// ReLU? → max-pool?`).
///
/// Run as separate steps, the BatchNorm, ReLU and max-pool after a convolution pass over the
/// full-size output again and again (the first convolution of the digit network: 12.8 MB per
/// batch of 128), and together took as long as the convolutions. Fused, forward takes each
/// sample's channel sums while its convolution output is in cache, then the squared deviations,
/// then one pass normalises, activates and pools; backward takes each sample's gradient back
/// through the pooling and ReLU in cache, twice: once for the sums, once to apply the
/// normalisation's gradient just before the convolution's own backward.
///
/// The arithmetic is ``BatchNormStep``'s, sum for sum in the same order (the same kernels over the
/// same planes, added in sample order in Double), so a network trains to the same weights bit for
/// bit fused or not.
public struct BatchNormEpilogue: Sendable, Equatable {
    /// Index of γ in ``Network/parameters`` (β follows).
    public let parameterIndex: Int
    /// Index of the running mean in ``Network/buffers`` (the running variance follows).
    public let bufferIndex: Int
    public let momentum: Float
    public let epsilon: Float

    /// The same BatchNorm with its running statistics, as inference runs it.
    var folded: FoldedBatchNorm { FoldedBatchNorm(parameterIndex: parameterIndex, bufferIndex: bufferIndex, epsilon: epsilon) }
}

extension ConvolutionStep {
    /// Training forward with ``batchNorm``: convolution → BatchNorm with the batch's statistics →
    /// the epilogue (ReLU and/or max-pool). Records the input, the convolution's output, the step's
    /// output, the pooling argmax and the statistics.
    func normalizingForward(_ input: Tensor, parameters: [Tensor], memory: inout StepMemory,
                            context: inout ExecutionContext) -> Tensor {
        let batchNorm = batchNorm!
        let batch = input.shape[0]
        let oc = outputChannels
        let threads = batch >= 2 ? context.threads : 1
        // convolved [n, oc, oh, ow], and Σ of each sample's channel.
        var perSample = [Float](repeating: 0, count: batch * oc)
        let convolved = perSample.withUnsafeMutableBufferPointer {
            convolve(input, parameters[parameterIndex], parameters[parameterIndex + 1], argmax: nil, context,
                     channelSums: $0.baseAddress)
        }
        let positions = convolved.count / (batch * oc)
        // μ, then σ² from squared deviations from μ: per-sample sums added in sample order (so the
        // thread count does not matter), over every rank's samples in data-parallel training.
        let group = context.share?.synchronising
        let count = Double((group == nil ? batch : context.share!.total) * positions)
        var totals = [Double](repeating: 0, count: oc)
        for sample in 0..<batch {
            for channel in 0..<oc { totals[channel] += Double(perSample[sample * oc + channel]) }
        }
        group?.sum(&totals)
        let means = totals.map { Float($0 / count) }
        convolved.withUnsafeBufferPointer { x in
            perSample.withUnsafeMutableBufferPointer { squares in
                Parallel.forEach(tasks: batch, threads: threads) { sample in
                    for channel in 0..<oc {
                        squares[sample * oc + channel] = sumOfSquaredDeviations(
                            x.baseAddress! + (sample * oc + channel) * positions, count: positions, from: means[channel])
                    }
                }
            }
        }
        var squares = [Double](repeating: 0, count: oc)
        for sample in 0..<batch {
            for channel in 0..<oc { squares[channel] += Double(perSample[sample * oc + channel]) }
        }
        group?.sum(&squares)
        BatchNormStep.recordStatistics(means: means, squaredDeviations: squares, count: count,
                                       epsilon: batchNorm.epsilon, into: &memory)
        let (scale, shift) = BatchNormStep.affine(gamma: parameters[batchNorm.parameterIndex].scalars,
                                                  beta: parameters[batchNorm.parameterIndex + 1].scalars,
                                                  statistics: memory.statistics)
        // out = maxpool?(relu?(scale·convolved + shift)), sample by sample.
        memory.indices.resize(to: pool == nil ? 0 : batch * outputShape.reduce(1, *))
        let (relu, pool) = (self.relu, self.pool)
        let (height, width) = (convolved.shape[2], convolved.shape[3])
        let outputSampleSize = outputShape.reduce(1, *)
        let output = Tensor(shape: [batch] + outputShape) { out in
            convolved.withUnsafeBufferPointer { x in
            memory.indices.withUnsafeMutableBufferPointer { argmax in
                Parallel.forEach(tasks: batch, threads: threads) { sample in
                    WorkspacePool.shared.withWorkspace { workspace in
                        let normalized = pool != nil ? workspace.floats(oc * positions)
                                                     : out.baseAddress! + sample * outputSampleSize
                        for channel in 0..<oc {
                            let offset = channel * positions
                            scaleAndShift(x.baseAddress! + sample * oc * positions + offset, scale: scale[channel],
                                          shift: shift[channel], into: normalized + offset, count: positions)
                        }
                        if let pool {
                            maxPoolPlanes(normalized, planes: oc, height: height, width: width,
                                          kernelSize: pool.kernelSize, stride: pool.stride,
                                          output: out.baseAddress! + sample * outputSampleSize,
                                          argmax: argmax.baseAddress! + sample * outputSampleSize, relu: relu)
                        } else if relu {
                            reluForward(normalized, normalized, count: oc * positions)
                        }
                    }
                }
            }
            }
        }
        memory.input = input
        memory.beforeNormalization = convolved
        memory.output = output
        return output
    }

    /// One sample's gradient at the epilogue's input `[oc, oh·ow]` (the convolution's output, or
    /// the normalisation's): the output gradient taken back through the max-pool and ReLU into
    /// `scratch`, or the output gradient itself when there is no epilogue. `argmax` is the
    /// pooling's, when the step pools.
    func epilogueGradient(sample: Int, outputGradient dout: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                          argmax: UnsafePointer<Int32>?, height: Int, width: Int,
                          scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        let outputSampleSize = outputShape.reduce(1, *)
        let (doutSample, ySample) = (dout + sample * outputSampleSize, y + sample * outputSampleSize)
        if let pool {
            // In the forward pass this was: out[j] = relu?(max over window) at argmax[j].
            maxUnpoolPlanes(doutSample, reluOutput: relu ? ySample : nil, argmax: argmax! + sample * outputSampleSize,
                            planes: outputChannels, height: height, width: width,
                            kernelSize: pool.kernelSize, stride: pool.stride, inputGradient: scratch)
            return UnsafePointer(scratch)
        }
        if relu {
            // In the forward pass this was: out = max(0, convolved).
            reluBackward(doutSample, output: ySample, scratch, count: outputChannels * height * width)
            return UnsafePointer(scratch)
        }
        return doutSample
    }

    /// Backward with ``batchNorm``, before the convolution's own: adds dγ = r·Σ dy·(x − μ) and
    /// dβ = Σ dy (this call's rows) and returns, per channel, μ, then k1, k2 and k3 of
    /// dconv = k1·dy + k2·(x − μ) + k3 (whole-batch sums; formulas in ``BatchNormStep``), where x is
    /// the convolution's output and dy the gradient at the normalisation's output.
    func normalizationCoefficients(_ outputGradient: Tensor, parameters: [Tensor], memory: StepMemory,
                                   gradients: inout [Tensor], context: ExecutionContext) -> [Float] {
        let batchNorm = batchNorm!
        let convolved = memory.beforeNormalization
        let (batch, oc, height, width) = (convolved.shape[0], outputChannels, convolved.shape[2], convolved.shape[3])
        let positions = height * width
        let statistics = memory.statistics
        // Per sample and channel Σ dy, then Σ dy·(x − μ).
        var perSample = [Float](repeating: 0, count: batch * 2 * oc)
        perSample.withUnsafeMutableBufferPointer { sums in
        convolved.withUnsafeBufferPointer { x in
        outputGradient.withUnsafeBufferPointer { dout in
        memory.output.withUnsafeBufferPointer { y in
        memory.indices.withUnsafeBufferPointer { argmax in
            Parallel.forEach(tasks: batch, threads: batch >= 2 ? context.threads : 1) { sample in
                WorkspacePool.shared.withWorkspace { workspace in
                    let dy = epilogueGradient(sample: sample, outputGradient: dout.baseAddress!, output: y.baseAddress!,
                                              argmax: argmax.baseAddress, height: height, width: width,
                                              scratch: workspace.floats(oc * positions))
                    for channel in 0..<oc {
                        let offset = channel * positions
                        sums[sample * 2 * oc + channel] = sum(dy + offset, count: positions)
                        sums[sample * 2 * oc + oc + channel] = dotWithDeviations(
                            dy + offset, x.baseAddress! + sample * oc * positions + offset, count: positions,
                            from: statistics[channel])
                    }
                }
            }
        }
        }
        }
        }
        }
        var wideSums = [Double](repeating: 0, count: 2 * oc)   // Σ dy, then Σ dy·(x − μ), per channel
        for sample in 0..<batch {
            for index in 0..<(2 * oc) { wideSums[index] += Double(perSample[sample * 2 * oc + index]) }
        }
        for channel in 0..<oc {
            gradients[batchNorm.parameterIndex].scalars[channel] += statistics[oc + channel] * Float(wideSums[oc + channel])
            gradients[batchNorm.parameterIndex + 1].scalars[channel] += Float(wideSums[channel])
        }
        // The convolution's gradient needs dconv whether or not its input's is wanted: always summed.
        let group = context.share?.synchronising
        group?.sum(&wideSums)
        let count = Float((group == nil ? batch : context.share!.total) * positions)
        let k = BatchNormStep.inputGradientCoefficients(gamma: parameters[batchNorm.parameterIndex].scalars,
                                                        statistics: statistics, sums: wideSums, count: count)
        return Array(statistics[0..<oc]) + k
    }

    public func updateBuffers(_ buffers: inout [Tensor], memory: StepMemory) {
        guard let batchNorm else { return }
        BatchNormStep.updateRunningStatistics(&buffers, bufferIndex: batchNorm.bufferIndex,
                                              momentum: batchNorm.momentum, memory: memory)
    }

    public func idleForward(context: inout ExecutionContext) {
        guard batchNorm != nil, let group = context.share?.synchronising else { return }
        var zeros = [Double](repeating: 0, count: outputChannels)
        group.sum(&zeros)   // the means' sums
        group.sum(&zeros)   // the squared deviations' sums
    }

    public func idleBackward(context: ExecutionContext, needsInputGradient: Bool) {
        guard batchNorm != nil, let group = context.share?.synchronising else { return }
        var zeros = [Double](repeating: 0, count: 2 * outputChannels)
        group.sum(&zeros)
    }
}
