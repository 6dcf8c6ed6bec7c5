import MatrixKernels

// Legend: n batch, c features (channels), s = h·w positions per feature (1 after a dense layer),
// M = n·s values per feature; μ, σ² the batch mean and (biased) variance of one feature,
// r = 1/√(σ² + ε), x̂ = (x − μ)·r.

/// Batch normalisation (Ioffe & Szegedy) of `[n, c]` or `[n, c, h, w]`, per feature, as PyTorch's
/// `BatchNorm1d`/`BatchNorm2d`:
///
///     training:  y = γ·(x − μ)/√(σ² + ε) + β   with μ, σ² over the batch (and positions)
///                running_mean ← (1 − momentum)·running_mean + momentum·μ
///                running_var  ← (1 − momentum)·running_var + momentum·σ²·M/(M − 1)
///     inference: y = γ·(x − running_mean)/√(running_var + ε) + β
///
/// Parameters: weight γ `[c]`, bias β `[c]`; buffers: `running_mean`, `running_var` `[c]`.
public struct BatchNormStep: Step {
    public let layers: Range<Int>
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let parameterIndex: Int
    public var parameterCount: Int { 2 }
    /// Index of `running_mean` in ``Network/buffers`` (`running_var` follows).
    public let bufferIndex: Int
    public let features: Int
    public let momentum: Float
    public let epsilon: Float

    public var description: String { "BatchNorm \(features)" }

    /// Positions per feature in one sample.
    private var positions: Int { inputShape.dropFirst().reduce(1, *) }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], context: ExecutionContext) -> Tensor {
        checkInput(input)
        let (gamma, beta) = (parameters[parameterIndex].scalars, parameters[parameterIndex + 1].scalars)
        let (mean, variance) = (buffers[bufferIndex].scalars, buffers[bufferIndex + 1].scalars)
        // y = scale·x + shift with scale = γ/√(running_var + ε), shift = β − running_mean·scale.
        var scale = [Float](repeating: 0, count: features), shift = scale
        for c in 0..<features {
            scale[c] = gamma[c] / (variance[c] + epsilon).squareRoot()
            shift[c] = beta[c] - mean[c] * scale[c]
        }
        return applyAffine(input, scale: scale, shift: shift, context: context)
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], memory: inout StepMemory,
                        context: inout ExecutionContext) -> Tensor {
        checkInput(input)
        let (n, c, s) = (input.shape[0], features, positions)
        // In data-parallel training the statistics are the whole batch's: each rank's sums are
        // summed over the ranks before they are used (M counts every rank's rows).
        let group = context.share?.synchronising
        let count = Double((group == nil ? n : context.share!.total) * s)
        let threads = n * c * s >= 1 << 16 ? context.threads : 1
        // μ, then σ² from squared deviations from μ: two passes, for accuracy.
        var totals = [Double](repeating: 0, count: c)
        input.withUnsafeBufferPointer { x in
            totals.withUnsafeMutableBufferPointer { totals in
                Parallel.forEach(tasks: c, threads: threads) { feature in
                    var total = 0.0
                    for b in 0..<n { total += Double(sum(x.baseAddress! + (b * c + feature) * s, count: s)) }
                    totals[feature] = total
                }
            }
        }
        group?.sum(&totals)
        let means = totals.map { Float($0 / count) }
        var squares = [Double](repeating: 0, count: c)
        input.withUnsafeBufferPointer { x in
            squares.withUnsafeMutableBufferPointer { squares in
                Parallel.forEach(tasks: c, threads: threads) { feature in
                    var total = 0.0
                    for b in 0..<n {
                        total += Double(sumOfSquaredDeviations(x.baseAddress! + (b * c + feature) * s, count: s, from: means[feature]))
                    }
                    squares[feature] = total
                }
            }
        }
        group?.sum(&squares)
        Self.recordStatistics(means: means, squaredDeviations: squares, count: count, epsilon: epsilon, into: &memory)
        let (scale, shift) = Self.affine(gamma: parameters[parameterIndex].scalars, beta: parameters[parameterIndex + 1].scalars,
                                         statistics: memory.statistics)
        memory.input = input
        return applyAffine(input, scale: scale, shift: shift, context: context)
    }

    public func updateBuffers(_ buffers: inout [Tensor], memory: StepMemory) {
        Self.updateRunningStatistics(&buffers, bufferIndex: bufferIndex, momentum: momentum, memory: memory)
    }

    public func backward(_ outputGradient: Tensor, parameters: [Tensor], memory: StepMemory, gradients: inout [Tensor],
                         context: ExecutionContext, needsInputGradient: Bool) -> Tensor? {
        let input = memory.input
        precondition(outputGradient.shape == input.shape,
                     "BatchNormStep.backward: gradient shape \(outputGradient.shape) does not match the input \(input.shape)")
        let (n, c, s) = (input.shape[0], features, positions)
        let group = context.share?.synchronising
        let count = Float((group == nil ? n : context.share!.total) * s)
        let gamma = parameters[parameterIndex].scalars
        let statistics = memory.statistics
        // In the forward pass this was: y = γ·x̂ + β with x̂ = (x − μ)·r, so per feature
        //   dβ = Σ dy,  dγ = Σ dy·x̂ = r·Σ dy·(x − μ),
        //   dx = γ·r/M·(M·dy − Σ dy − x̂·Σ dy·x̂) = k1·dy + k2·(x − μ) + k3
        //   with k1 = γ·r, k2 = −γ·r³·Σ dy·(x − μ)/M, k3 = −γ·r·Σ dy/M.
        var wideSums = [Double](repeating: 0, count: 2 * c)   // Σ dy, then Σ dy·(x − μ), per feature
        input.withUnsafeBufferPointer { x in
            outputGradient.withUnsafeBufferPointer { dout in
                wideSums.withUnsafeMutableBufferPointer { sums in
                    Parallel.forEach(tasks: c, threads: n * c * s >= 1 << 16 ? context.threads : 1) { feature in
                        var (gradientSum, productSum) = (0.0, 0.0)
                        for b in 0..<n {
                            let offset = (b * c + feature) * s
                            gradientSum += Double(sum(dout.baseAddress! + offset, count: s))
                            productSum += Double(dotWithDeviations(dout.baseAddress! + offset, x.baseAddress! + offset,
                                                                   count: s, from: statistics[feature]))
                        }
                        sums[feature] = gradientSum
                        sums[c + feature] = productSum
                    }
                }
            }
        }
        // dγ and dβ from this call's rows (in data-parallel training, the trainer's sum over the
        // ranks completes them, as for every other parameter).
        for feature in 0..<c {
            gradients[parameterIndex].scalars[feature] += statistics[c + feature] * Float(wideSums[c + feature])
            gradients[parameterIndex + 1].scalars[feature] += Float(wideSums[feature])
        }
        guard needsInputGradient else { return nil }
        // dx needs the sums over the whole batch: every rank's rows.
        group?.sum(&wideSums)
        let k = Self.inputGradientCoefficients(gamma: gamma, statistics: statistics, sums: wideSums, count: count)
        let threads = n * c * s >= 1 << 16 ? context.threads : 1
        return Tensor(shape: input.shape) { dinp in
            input.withUnsafeBufferPointer { x in
                outputGradient.withUnsafeBufferPointer { dout in
                    Parallel.forEach(tasks: n, threads: threads) { b in
                        for feature in 0..<c {
                            let offset = (b * c + feature) * s
                            normalizationBackward(dout.baseAddress! + offset, input: x.baseAddress! + offset,
                                                  mean: statistics[feature], k1: k[feature], k2: k[c + feature],
                                                  k3: k[2 * c + feature], into: dinp.baseAddress! + offset, count: s)
                        }
                    }
                }
            }
        }
    }

    public func idleForward(context: inout ExecutionContext) {
        guard let group = context.share?.synchronising else { return }
        var zeros = [Double](repeating: 0, count: features)
        group.sum(&zeros)   // the means' sums
        group.sum(&zeros)   // the squared deviations' sums
    }

    public func idleBackward(context: ExecutionContext, needsInputGradient: Bool) {
        guard let group = context.share?.synchronising, needsInputGradient else { return }
        var zeros = [Double](repeating: 0, count: 2 * features)
        group.sum(&zeros)
    }

    private func checkInput(_ input: Tensor) {
        precondition(Array(input.shape.dropFirst()) == inputShape && input.shape[0] >= 1,
                     "BatchNormStep.forward: expected [batch] + \(inputShape), got \(input.shape)")
    }

    /// y[b, c, ·] = scale[c]·x[b, c, ·] + shift[c].
    private func applyAffine(_ input: Tensor, scale: [Float], shift: [Float], context: ExecutionContext) -> Tensor {
        let (n, c, s) = (input.shape[0], features, positions)
        return Tensor(shape: input.shape) { out in
            input.withUnsafeBufferPointer { x in
                Parallel.forEach(tasks: n, threads: n * c * s >= 1 << 16 ? context.threads : 1) { b in
                    for feature in 0..<c {
                        let offset = (b * c + feature) * s
                        scaleAndShift(x.baseAddress! + offset, scale: scale[feature], shift: shift[feature],
                                      into: out.baseAddress! + offset, count: s)
                    }
                }
            }
        }
    }
}

// MARK: - Shared with the BatchNorm epilogue of ConvolutionStep

extension BatchNormStep {
    /// Records μ and r = 1/√(σ² + ε) per feature in `memory.statistics` (means, then r) and the
    /// unbiased variance in `memory.unbiasedVariance`, from the batch means and the sums of squared
    /// deviations from them over `count` values per feature (every rank's).
    static func recordStatistics(means: [Float], squaredDeviations: [Double], count: Double, epsilon: Float,
                                 into memory: inout StepMemory) {
        let c = means.count
        memory.statistics.resize(to: 2 * c)
        memory.unbiasedVariance.resize(to: c)
        for feature in 0..<c {
            let variance = squaredDeviations[feature] / count
            memory.statistics[feature] = means[feature]
            memory.statistics[c + feature] = Float(1 / (variance + Double(epsilon)).squareRoot())
            memory.unbiasedVariance[feature] = Float(count > 1 ? variance * count / (count - 1) : variance)
        }
    }

    /// y = γ·(x − μ)·r + β = scale·x + shift per feature, with scale = γ·r and shift = β − μ·scale
    /// (`statistics` as ``recordStatistics(means:squaredDeviations:count:epsilon:into:)`` writes it).
    static func affine(gamma: [Float], beta: [Float], statistics: [Float]) -> (scale: [Float], shift: [Float]) {
        let c = gamma.count
        var scale = [Float](repeating: 0, count: c), shift = scale
        for feature in 0..<c {
            scale[feature] = gamma[feature] * statistics[c + feature]
            shift[feature] = beta[feature] - statistics[feature] * scale[feature]
        }
        return (scale, shift)
    }

    /// dx = k1·dy + k2·(x − μ) + k3 per feature (see ``backward(_:parameters:memory:gradients:context:needsInputGradient:)``):
    /// returns k1 for every feature, then k2, then k3, from `sums` (Σ dy per feature, then
    /// Σ dy·(x − μ)) over `count` values per feature.
    static func inputGradientCoefficients(gamma: [Float], statistics: [Float], sums: [Double], count: Float) -> [Float] {
        let c = gamma.count
        var k = [Float](repeating: 0, count: 3 * c)
        for feature in 0..<c {
            let r = statistics[c + feature]
            k[feature] = gamma[feature] * r
            k[c + feature] = -k[feature] * r * r * Float(sums[c + feature]) / count
            k[2 * c + feature] = -k[feature] * Float(sums[feature]) / count
        }
        return k
    }

    /// running ← (1 − momentum)·running + momentum·batch, for the mean and the (unbiased) variance.
    static func updateRunningStatistics(_ buffers: inout [Tensor], bufferIndex: Int, momentum m: Float,
                                        memory: StepMemory) {
        for feature in 0..<memory.unbiasedVariance.count {
            buffers[bufferIndex].scalars[feature] = (1 - m) * buffers[bufferIndex].scalars[feature]
                + m * memory.statistics[feature]
            buffers[bufferIndex + 1].scalars[feature] = (1 - m) * buffers[bufferIndex + 1].scalars[feature]
                + m * memory.unbiasedVariance[feature]
        }
    }
}

/// output[i] = scale·values[i] + shift.
@inline(__always)
func scaleAndShift(_ values: UnsafePointer<Float>, scale: Float, shift: Float, into output: UnsafeMutablePointer<Float>,
                   count: Int) {
    for i in 0..<count { output[i] = scale * values[i] + shift }
}

/// dx[i] = k1·dy[i] + k2·(x[i] − mean) + k3: BatchNorm's input gradient (in place when `dx` is `dy`).
@inline(__always)
func normalizationBackward(_ dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, mean: Float,
                           k1: Float, k2: Float, k3: Float, into dx: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { dx[i] = k1 * dy[i] + k2 * (x[i] - mean) + k3 }
}

/// Σ (values[i] − center)², with SIMD accumulators.
func sumOfSquaredDeviations(_ values: UnsafePointer<Float>, count: Int, from center: Float) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    let raw = UnsafeRawPointer(values)
    var i = 0
    while i &+ 16 <= count {
        let d0 = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self) - center
        let d1 = raw.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self) - center
        a0 += d0 * d0
        a1 += d1 * d1
        i &+= 16
    }
    var total = (a0 + a1).sum()
    while i < count {
        let d = values[i] - center
        total += d * d
        i &+= 1
    }
    return total
}

/// Σ gradient[i]·(values[i] − center), with SIMD accumulators.
func dotWithDeviations(_ gradient: UnsafePointer<Float>, _ values: UnsafePointer<Float>, count: Int,
                               from center: Float) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    let (g, x) = (UnsafeRawPointer(gradient), UnsafeRawPointer(values))
    var i = 0
    while i &+ 16 <= count {
        a0 += g.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            * (x.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self) - center)
        a1 += g.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
            * (x.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self) - center)
        i &+= 16
    }
    var total = (a0 + a1).sum()
    while i < count {
        total += gradient[i] * (values[i] - center)
        i &+= 1
    }
    return total
}

// MARK: - Reference

extension BatchNormStep {
    /// Training-mode batch normalisation by its definition, in Double: returns y, the batch means
    /// and the biased variances per feature.
    public static func referenceForward(input: Tensor, weight: Tensor, bias: Tensor,
                                        epsilon: Float) -> (output: Tensor, mean: [Double], variance: [Double]) {
        let (n, c) = (input.shape[0], input.shape[1])
        let s = input.shape.dropFirst(2).reduce(1, *)
        let m = Double(n * s)
        var mean = [Double](repeating: 0, count: c), variance = mean
        for b in 0..<n { for f in 0..<c { for i in 0..<s { mean[f] += Double(input.scalars[(b * c + f) * s + i]) / m } } }
        for b in 0..<n {
            for f in 0..<c {
                for i in 0..<s {
                    let d = Double(input.scalars[(b * c + f) * s + i]) - mean[f]
                    variance[f] += d * d / m
                }
            }
        }
        var out = Tensor(shape: input.shape)
        for b in 0..<n {
            for f in 0..<c {
                for i in 0..<s {
                    let j = (b * c + f) * s + i
                    let xhat = (Double(input.scalars[j]) - mean[f]) / (variance[f] + Double(epsilon)).squareRoot()
                    out.scalars[j] = Float(Double(weight.scalars[f]) * xhat + Double(bias.scalars[f]))
                }
            }
        }
        return (out, mean, variance)
    }
}
