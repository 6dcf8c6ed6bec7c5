// Legend: o an output channel, c an input channel, k×k the kernel, t = (c·k + i)·k + j a weight's
// place in a patch, oh×ow the output, y and x an output row and column.

/// One sample's stride-1 convolution, computed where it lies instead of as a GEMM over im2col
/// columns, for layers whose patches are short (few input channels):
///
///     output[o, y, x] = bias[o] + Σ_t weight[o, t] · padded[c, y + i, x + j]
///
/// with each sum taken from 0 over `t` in ascending order with the path's multiply-add, then added
/// to the bias: the very operations the GEMM does for `bias + weight · columns` when the patch fits
/// one depth block (`MatrixProduct.depthBlock`), so both give the same bits. For a one-channel
/// first layer the GEMM's A has 6 or 32 rows and its depth is 9 or 25: mostly packing and edges.
///
/// Eight output channels of one vector of a row's positions are summed in registers at a time;
/// each input vector is loaded once for the eight. A row's last vector is the one that ends at
/// the row's end, overlapping the one before: both write the same values where they overlap.
public enum DirectConvolution {
    /// Floats per row of the padded input: room for a whole vector at the row's last position
    /// plus the kernel's reach.
    @inlinable
    public static func paddedWidth(outputWidth: Int, kernelSize: Int, lanes: Int) -> Int {
        max(outputWidth, lanes) + kernelSize - 1
    }

    /// See the type's description. `padded` is `[c, oh + k − 1, paddedWidth]`: the input with its
    /// zero padding, zeros beyond; `weight` is `[oc, c·k·k]`, `bias` `[oc]`; `output` `[oc, oh·ow]`
    /// is overwritten.
    @inlinable
    public static func run<M: MultiplyAdd>(_: M.Type, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                          outputChannels: Int, channels: Int, kernelSize k: Int,
                                          padded: UnsafePointer<Float>, paddedWidth: Int,
                                          outputHeight oh: Int, outputWidth ow: Int, output: UnsafeMutablePointer<Float>) {
        typealias V = M.Vector
        let lanes = V.scalarCount
        let patch = channels * k * k
        let paddedHeight = oh + k - 1
        let input = UnsafeRawPointer(padded)
        for firstChannel in stride(from: 0, to: outputChannels, by: 8) {
            // A block's missing channels repeat its last one and are not stored.
            let last = min(outputChannels, firstChannel + 8) - 1
            func weights(_ r: Int) -> UnsafePointer<Float> { weight + min(last, firstChannel + r) * patch }
            let (w0, w1, w2, w3) = (weights(0), weights(1), weights(2), weights(3))
            let (w4, w5, w6, w7) = (weights(4), weights(5), weights(6), weights(7))
            for y in 0..<oh {
                var x = 0
                while x < ow {
                    var (s0, s1, s2, s3) = (V(), V(), V(), V())
                    var (s4, s5, s6, s7) = (V(), V(), V(), V())
                    var t = 0
                    for c in 0..<channels {
                        for i in 0..<k {
                            let row = ((c * paddedHeight + y + i) * paddedWidth + x) * 4
                            for j in 0..<k {
                                let v = input.loadUnaligned(fromByteOffset: row + j * 4, as: V.self)
                                s0 = M.multiplyAdd(s0, V(repeating: w0[t]), v)
                                s1 = M.multiplyAdd(s1, V(repeating: w1[t]), v)
                                s2 = M.multiplyAdd(s2, V(repeating: w2[t]), v)
                                s3 = M.multiplyAdd(s3, V(repeating: w3[t]), v)
                                s4 = M.multiplyAdd(s4, V(repeating: w4[t]), v)
                                s5 = M.multiplyAdd(s5, V(repeating: w5[t]), v)
                                s6 = M.multiplyAdd(s6, V(repeating: w6[t]), v)
                                s7 = M.multiplyAdd(s7, V(repeating: w7[t]), v)
                                t += 1
                            }
                        }
                    }
                    // output = bias + sums, for the channels that exist and the positions inside the row.
                    func store(_ sums: V, channel: Int) {
                        guard channel <= last else { return }
                        let target = output + channel * oh * ow + y * ow + x
                        let total = V(repeating: bias[channel]) + sums
                        if ow >= lanes {
                            UnsafeMutableRawPointer(target).storeBytes(of: total, as: V.self)
                        } else {
                            for lane in 0..<ow { target[lane] = total[lane] }
                        }
                    }
                    store(s0, channel: firstChannel); store(s1, channel: firstChannel + 1)
                    store(s2, channel: firstChannel + 2); store(s3, channel: firstChannel + 3)
                    store(s4, channel: firstChannel + 4); store(s5, channel: firstChannel + 5)
                    store(s6, channel: firstChannel + 6); store(s7, channel: firstChannel + 7)
                    // The next vector, or the one that ends the row (overlapping this one).
                    x = x + lanes >= ow ? ow : min(x + lanes, ow - lanes)
                }
            }
        }
    }
}
