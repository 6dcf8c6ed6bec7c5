import MatrixKernels

// Legend as in ConvolutionStep.swift; M = n·oh·ow values per channel (every rank's rows in
// data-parallel training), μ, r = 1/√(σ² + ε) the batch statistics of one channel.

/// A BatchNorm that a training plan runs inside the convolution before it (`conv → BatchNorm →
/// ReLU? → max-pool?`), with the same arithmetic as ``BatchNormStep``.
///
/// Run as separate steps, the BatchNorm, ReLU and max-pool after a convolution each pass over the
/// full-size output several times (the first convolution of the digit network: 12.8 MB per batch
/// of 128), and together took as long as the convolutions. Fused, the full-size tensors are
/// touched once each way: forward, each sample's channel sums are taken while the convolution
/// output is in cache, then one pass normalises, activates and pools; backward, the sums come from
/// the pooled gradients and the normalisation's gradient is applied to each sample in cache, just
/// before the convolution's own backward.
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
        let (weight, bias) = (parameters[parameterIndex], parameters[parameterIndex + 1])
        // Pass 1: convolved [n, oc, oh, ow], and per sample and channel Σ and Σ(x − sample mean)².
        var sampleStatistics = [Float](repeating: 0, count: batch * 2 * oc)
        let convolved = sampleStatistics.withUnsafeMutableBufferPointer {
            convolve(input, weight, bias, argmax: nil, context, statistics: $0.baseAddress)
        }
        let positions = convolved.count / (batch * oc)
        // Combined in sample order (so the thread count does not matter): Σx, then the squared
        // deviations from the batch mean, Σ over samples of M2ₛ + positions·(meanₛ − μ)² (Chan et al.).
        // In data-parallel training each sum is over every rank's samples.
        let group = context.share?.synchronising
        let count = Double((group == nil ? batch : context.share!.total) * positions)
        var totals = [Double](repeating: 0, count: oc)
        for sample in 0..<batch {
            for channel in 0..<oc { totals[channel] += Double(sampleStatistics[(sample * oc + channel) * 2]) }
        }
        group?.sum(&totals)
        let means = totals.map { Float($0 / count) }
        var squares = [Double](repeating: 0, count: oc)
        for sample in 0..<batch {
            for channel in 0..<oc {
                let (total, deviations) = (sampleStatistics[(sample * oc + channel) * 2],
                                           sampleStatistics[(sample * oc + channel) * 2 + 1])
                let offset = Double(total) / Double(positions) - Double(means[channel])
                squares[channel] += Double(deviations) + Double(positions) * offset * offset
            }
        }
        group?.sum(&squares)
        BatchNormStep.recordStatistics(means: means, squaredDeviations: squares, count: count,
                                       epsilon: batchNorm.epsilon, into: &memory)
        let (scale, shift) = BatchNormStep.affine(gamma: parameters[batchNorm.parameterIndex].scalars,
                                                  beta: parameters[batchNorm.parameterIndex + 1].scalars,
                                                  statistics: memory.statistics)
        // Pass 2: out = maxpool?(relu?(scale·convolved + shift)), sample by sample.
        memory.indices.resize(to: pool == nil ? 0 : batch * outputShape.reduce(1, *))
        let (relu, pool) = (self.relu, self.pool)
        let (height, width) = (convolved.shape[2], convolved.shape[3])
        let outputSampleSize = outputShape.reduce(1, *)
        let output = Tensor(shape: [batch] + outputShape) { out in
            convolved.withUnsafeBufferPointer { x in
            memory.indices.withUnsafeMutableBufferPointer { argmax in
                Parallel.forEach(tasks: batch, threads: batch >= 2 ? context.threads : 1) { sample in
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

    /// Backward with ``batchNorm``, before the convolution's own: adds dγ = r·Σ dy·(x − μ) and
    /// dβ = Σ dy (this call's rows) and returns, per channel, μ, then k1, k2 and k3 of
    /// dconv = k1·dy + k2·(x − μ) + k3 (whole-batch sums; formulas in ``BatchNormStep``), where x is
    /// the convolution's output and dy the gradient at the normalisation's output, i.e. the output
    /// gradient taken back through the epilogue.
    func normalizationCoefficients(_ outputGradient: Tensor, parameters: [Tensor], memory: StepMemory,
                                   gradients: inout [Tensor], context: ExecutionContext) -> [Float] {
        let batchNorm = batchNorm!
        let convolved = memory.beforeNormalization
        let (batch, oc) = (convolved.shape[0], outputChannels)
        let positions = convolved.count / (batch * oc)
        let outputPositions = outputShape.dropFirst().reduce(1, *)
        let statistics = memory.statistics
        let (relu, pool) = (self.relu, self.pool)
        // Per sample and channel Σ dy and Σ dy·(x − μ); with pooling only the windows' maxima have
        // a gradient, so these sums read a quarter of the values.
        var sampleSums = [Float](repeating: 0, count: batch * 2 * oc)
        sampleSums.withUnsafeMutableBufferPointer { sums in
        convolved.withUnsafeBufferPointer { x in
        outputGradient.withUnsafeBufferPointer { dout in
        memory.output.withUnsafeBufferPointer { y in
        memory.indices.withUnsafeBufferPointer { argmax in
            Parallel.forEach(tasks: batch, threads: batch >= 2 ? context.threads : 1) { sample in
                for channel in 0..<oc {
                    let mean = statistics[channel]
                    let plane = x.baseAddress! + (sample * oc + channel) * positions
                    let first = (sample * oc + channel) * outputPositions
                    let (g, index) = (dout.baseAddress! + first, argmax.baseAddress! + first)
                    let (reluOutput, count) = (y.baseAddress! + first, outputPositions)
                    // A gradient the ReLU stopped is zero (a select: the sign is unpredictable).
                    let (gradientSum, productSum) = switch (relu, pool != nil) {
                    case (true, true):
                        gradientSums(count: count, mean: mean, gradientAt: { reluOutput[$0] > 0 ? g[$0] : 0 },
                                     valueAt: { plane[Int(index[$0])] })
                    case (false, true):
                        gradientSums(count: count, mean: mean, gradientAt: { g[$0] }, valueAt: { plane[Int(index[$0])] })
                    case (true, false):
                        gradientSums(count: count, mean: mean, gradientAt: { reluOutput[$0] > 0 ? g[$0] : 0 },
                                     valueAt: { plane[$0] })
                    case (false, false):
                        gradientSums(count: count, mean: mean, gradientAt: { g[$0] }, valueAt: { plane[$0] })
                    }
                    sums[(sample * oc + channel) * 2] = gradientSum
                    sums[(sample * oc + channel) * 2 + 1] = productSum
                }
            }
        }
        }
        }
        }
        }
        var wideSums = [Double](repeating: 0, count: 2 * oc)   // Σ dy, then Σ dy·(x − μ), per channel
        for sample in 0..<batch {
            for channel in 0..<oc {
                wideSums[channel] += Double(sampleSums[(sample * oc + channel) * 2])
                wideSums[oc + channel] += Double(sampleSums[(sample * oc + channel) * 2 + 1])
            }
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

/// Per channel of one sample's `[channels, positions]` values: their sum, and the sum of their
/// squared deviations from their own mean, into `statistics[channels, 2]`.
func channelStatistics(_ values: UnsafePointer<Float>, channels: Int, positions: Int,
                       into statistics: UnsafeMutablePointer<Float>) {
    for channel in 0..<channels {
        let plane = values + channel * positions
        let total = sum(plane, count: positions)
        statistics[2 * channel] = total
        statistics[2 * channel + 1] = sumOfSquaredDeviations(plane, count: positions, from: total / Float(positions))
    }
}

/// Σ g and Σ g·(x − mean) over j in 0..<count, with g = `gradientAt(j)` and x = `valueAt(j)`:
/// four partial sums per total (independent chains), added in a fixed order.
@inline(__always)
private func gradientSums(count: Int, mean: Float, gradientAt: (Int) -> Float,
                          valueAt: (Int) -> Float) -> (Float, Float) {
    var gradients = SIMD4<Float>(), products = SIMD4<Float>()
    var j = 0
    while j &+ 4 <= count {
        let g = SIMD4(gradientAt(j), gradientAt(j &+ 1), gradientAt(j &+ 2), gradientAt(j &+ 3))
        let x = SIMD4(valueAt(j), valueAt(j &+ 1), valueAt(j &+ 2), valueAt(j &+ 3))
        gradients += g
        products += g * (x - mean)
        j &+= 4
    }
    var (gradientTail, productTail): (Float, Float) = (0, 0)
    while j < count {
        let g = gradientAt(j)
        gradientTail += g
        productTail += g * (valueAt(j) - mean)
        j &+= 1
    }
    return (gradients.sum() + gradientTail, products.sum() + productTail)
}
