import MatrixKernels

// Legend: count elements of the batch, any shape; rate r the drop probability.

/// Inverted dropout: during training each element is zeroed with probability `rate` and the
/// survivors are scaled by 1/(1 − rate), so inference (which passes values through unchanged)
/// sees the same expected activations.
public struct DropoutStep: Step {
    public let layers: Range<Int>
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    /// Probability of dropping an element, in [0, 1).
    public let rate: Float

    public var description: String { "Dropout \(rate)" }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], context: ExecutionContext) -> Tensor {
        input
    }

    /// The state that starts the random stream of chunk `index` of a batch's flat elements: the
    /// whole batch's pass and a data-parallel share's must start each chunk alike.
    private static func chunkStream(seed: UInt64, index: Int) -> UInt64 {
        seed ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03)
    }

    /// The forward pass of rows `shard.offset ..< shard.offset + batch` of a batch of
    /// `shard.total` rows: each element's mask is the one the whole batch's pass below would give
    /// it (same seed, same per-chunk streams over the batch's flat layout, same four elements per
    /// draw), so a data-parallel share equals the matching rows of the one-process pass.
    ///
    /// Within each chunk it meets, the elements up to the chunk's next whole draw come from the
    /// draw that holds the first of them; the rest go through the dropout kernel, from the
    /// chunk's stream advanced to that draw (SplitMix64 skips ahead by adding multiples of γ).
    private func shardForward(_ input: Tensor, memory: inout StepMemory, seed: UInt64, keepThreshold: UInt64, scale: Float,
                              chunk: Int, shard: BatchShare, kernels: KernelPath) -> Tensor {
        let count = input.count
        let perRow = input.shape[0] == 0 ? 0 : count / input.shape[0]
        let first = shard.offset * perRow
        memory.factors.resize(to: count)
        return Tensor(shape: input.shape) { out in
            input.withUnsafeBufferPointer { x in
                memory.factors.withUnsafeMutableBufferPointer { m in
                    var global = first
                    while global < first + count {
                        let index = global / chunk
                        let chunkStart = index * chunk
                        let end = min(first + count, chunkStart + chunk)
                        // The chunk's stream, advanced past the draws before the one that holds `global`.
                        var state = Self.chunkStream(seed: seed, index: index)
                            &+ UInt64((global - chunkStart) / 4) &* DropoutMask.gamma
                        var lane = (global - chunkStart) % 4
                        if lane > 0 {
                            state &+= DropoutMask.gamma
                            var bits = DropoutMask.mix(state) >> (16 * UInt64(lane))
                            while lane < 4 && global < end {
                                let factor: Float = bits & 0xFFFF < keepThreshold ? scale : 0
                                m[global - first] = factor
                                out[global - first] = x[global - first] * factor
                                (global, lane, bits) = (global + 1, lane + 1, bits >> 16)
                            }
                        }
                        if global < end {
                            kernels.dropout(state: state, keepThreshold: UInt32(keepThreshold), scale: scale,
                                            input: x.baseAddress! + (global - first), factors: m.baseAddress! + (global - first),
                                            output: out.baseAddress! + (global - first), count: end - global)
                            global = end
                        }
                    }
                }
            }
        }
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], memory: inout StepMemory,
                        context: inout ExecutionContext) -> Tensor {
        guard rate > 0 else {
            memory.factors = []
            return input
        }
        let count = input.count
        memory.factors.resize(to: count)
        // One draw from the shared generator seeds a stream per fixed-size chunk, so masks do not
        // depend on the thread count and chunks can be filled in parallel. Each 64-bit draw
        // decides four elements with 16 bits each: the rate is honoured to within 2⁻¹⁶.
        let seed = context.random.next()
        let keepThreshold = UInt64(((1 - Double(rate)) * 65536).rounded())
        let scale = 1 / (1 - rate)
        let chunk = 1 << 14
        if let shard = context.share, shard.total != input.shape[0] || shard.offset != 0 {
            return shardForward(input, memory: &memory, seed: seed, keepThreshold: keepThreshold, scale: scale,
                                chunk: chunk, shard: shard, kernels: context.kernels)
        }
        let chunks = (count + chunk - 1) / chunk
        let threads = count >= 1 << 16 ? context.threads : 1
        return Tensor(shape: input.shape) { out in
            input.withUnsafeBufferPointer { x in
                memory.factors.withUnsafeMutableBufferPointer { m in
                    Parallel.forEach(tasks: chunks, threads: threads) { index in
                        let start = index * chunk
                        context.kernels.dropout(state: Self.chunkStream(seed: seed, index: index),
                                                keepThreshold: UInt32(keepThreshold), scale: scale,
                                                input: x.baseAddress! + start, factors: m.baseAddress! + start,
                                                output: out.baseAddress! + start, count: min(count, start + chunk) - start)
                    }
                }
            }
        }
    }

    public func idleForward(context: inout ExecutionContext) {
        if rate > 0 { _ = context.random.next() }
    }

    public func backward(_ outputGradient: Tensor, parameters: [Tensor], memory: StepMemory, gradients: inout [Tensor],
                         context: ExecutionContext, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard rate > 0 else { return outputGradient }
        precondition(outputGradient.count == memory.factors.count, "DropoutStep.backward: gradient does not match the last forward")
        // In the forward pass this was: out[i] = x[i] · factor[i], so dx[i] = dout[i] · factor[i].
        return Tensor(shape: outputGradient.shape) { dinp in
            outputGradient.withUnsafeBufferPointer { dout in
                memory.factors.withUnsafeBufferPointer { m in
                    for i in 0..<m.count { dinp[i] = dout[i] * m[i] }
                }
            }
        }
    }
}
