import CSystemSupport
import MatrixKernels
import MatrixKernelsAVX2
import MatrixKernelsAVX512
import MatrixKernelsPortable

/// Which compiled GEMM the engine runs. Every path computes the same products; they differ only
/// in the instructions they need and in the rounding of multiply-adds (fused or not).
public enum KernelPath: String, CaseIterable, Sendable, CustomStringConvertible {
    /// x86-64-v4: 12×32 tiles of AVX-512 FMAs.
    case avx512
    /// x86-64-v3: 6×16 tiles of AVX2 FMAs.
    case avx2
    /// The toolchain's baseline instruction set: runs on any CPU.
    case portable

    /// The fastest path this CPU can run, detected once per process.
    public static let best: KernelPath = {
        if backprop_cpu_supports_avx512() != 0 { return .avx512 }
        if backprop_cpu_supports_avx2() != 0 { return .avx2 }
        return .portable
    }()

    /// Whether this CPU can execute the path's instructions.
    public var isSupported: Bool {
        switch self {
        case .avx512: backprop_cpu_supports_avx512() != 0
        case .avx2: backprop_cpu_supports_avx2() != 0
        case .portable: true
        }
    }

    public var description: String { rawValue }

    /// The path's compiled kernels.
    private var kernels: any InstructionSetKernels.Type {
        switch self {
        case .avx512: AVX512GEMM.self
        case .avx2: AVX2GEMM.self
        case .portable: PortableGEMM.self
        }
    }

    /// The path's kernels, once checked that this CPU can run them.
    private var supportedKernels: any InstructionSetKernels.Type {
        precondition(isSupported, "kernel path \(self) is not supported by this CPU")
        return kernels
    }

    /// Widths of the panels this path's kernel reads (see `PanelPacking`): `rows` (MR) for a
    /// packed op(A), `columns` (NR) for a packed op(B)ᵀ.
    public var panelWidths: (rows: Int, columns: Int) { kernels.panelWidths }

    /// Vector lanes of this path's kernels.
    public var lanes: Int { kernels.lanes }

    /// Runs `rounds` rounds of ``FMAPeak`` with this path's vectors on the calling thread; each
    /// performs ``peakFlopsPerRound`` floating-point operations.
    public func fmaPeak(rounds: Int) -> Float { supportedKernels.fmaPeak(rounds: rounds) }

    /// Flops in one round of ``fmaPeak(rounds:)``: two per multiply-add and lane.
    public var peakFlopsPerRound: Int { 2 * FMAPeak.multiplyAddsPerRound * lanes }

    /// The path's micro-kernel alone on the calling thread (see
    /// ``InstructionSetKernels/microKernelSweep(depth:a:panels:b:c:repetitions:)``): `a` holds
    /// `panels` packed A panels of `depth × panelWidths.rows`, `b` one packed B panel of
    /// `depth × panelWidths.columns`, `c` `panels` tiles of `panelWidths.rows × panelWidths.columns`.
    public func microKernelSweep(depth: Int, a: UnsafePointer<Float>, panels: Int, b: UnsafePointer<Float>,
                                 c: UnsafeMutablePointer<Float>, repetitions: Int) {
        supportedKernels.microKernelSweep(depth: depth, a: a, panels: panels, b: b, c: c, repetitions: repetitions)
    }

    /// ``GatherProduct/gather(_:_:table:tableStride:output:outputStride:columns:accumulate:)`` over the
    /// columns `0..<width`, split between up to `threads` threads (results do not depend on the
    /// split); adding to the output, or overwriting it when not `accumulate`.
    public func gather(_ sparse: GatherProduct.SparseRows, table: UnsafePointer<Float>, tableStride: Int,
                       output: UnsafeMutablePointer<Float>, outputStride: Int, width: Int, threads: Int,
                       accumulate: Bool = true) {
        let kernels = supportedKernels
        Self.splitColumns(width, threads: threads) { columns in
            kernels.gather(sparse, table: table, tableStride: tableStride, output: output, outputStride: outputStride,
                           columns: columns, accumulate: accumulate)
        }
    }

    /// ``Transpose``: `destination[c · destinationStride + r] (+)= source[r · sourceStride + c]`.
    public func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, sourceStride: Int,
                          into destination: UnsafeMutablePointer<Float>, destinationStride: Int, adding: Bool) {
        supportedKernels.transpose(source, rows: rows, columns: columns, sourceStride: sourceStride, into: destination,
                                   destinationStride: destinationStride, adding: adding)
    }

    /// ``DropoutMask``: dropout's factors and output for `count` elements from the generator state `state`.
    public func dropout(state: UInt64, keepThreshold: UInt32, scale: Float, input: UnsafePointer<Float>,
                        factors: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        supportedKernels.dropout(state: state, keepThreshold: keepThreshold, scale: scale, input: input, factors: factors,
                                 output: output, count: count)
    }

    /// ``DirectConvolution``: one sample's stride-1 convolution from its padded input, the same
    /// sums as this path's GEMM over its im2col columns when the patch fits one depth block.
    public func directConvolution(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outputChannels: Int,
                                  channels: Int, kernelSize: Int, padded: UnsafePointer<Float>, paddedWidth: Int,
                                  outputHeight: Int, outputWidth: Int, output: UnsafeMutablePointer<Float>) {
        supportedKernels.directConvolution(weight: weight, bias: bias, outputChannels: outputChannels, channels: channels,
                                           kernelSize: kernelSize, padded: padded, paddedWidth: paddedWidth,
                                           outputHeight: outputHeight, outputWidth: outputWidth, output: output)
    }

    /// ``WinogradConvolution``: tiles `tiles` of one sample's stride-1 3×3 convolution, with this
    /// path's vectors and micro-kernel (`packedWeight`: `ConvolutionStep.winogradWeight`, packed
    /// with this path's MR). `argmax`, with `.pooled`, receives where each maximum came from
    /// (see `WinogradConvolution.run`).
    public func winogradConvolution(_ geometry: WinogradConvolution.Geometry, input: UnsafePointer<Float>,
                                    packedWeight: UnsafePointer<Float>, bias: UnsafePointer<Float>, tiles: Range<Int>,
                                    tilesPerBlock: Int, output: UnsafeMutablePointer<Float>,
                                    mode: WinogradConvolution.Output, argmax: UnsafeMutablePointer<Int32>? = nil,
                                    scratch: UnsafeMutablePointer<Float>) {
        supportedKernels.winogradConvolution(geometry, input: input, packedWeight: packedWeight, bias: bias, tiles: tiles,
                                             tilesPerBlock: tilesPerBlock, output: output, mode: mode, argmax: argmax,
                                             scratch: scratch)
    }

    /// ``PooledWeightGradient``: a pooled convolution's weight gradient from the positions the
    /// pooling passed gradient to, with this path's vectors and multiply-add.
    public func pooledWeightGradient(gradient: UnsafePointer<Float>, reluOutput: UnsafePointer<Float>?,
                                     origins: UnsafePointer<Int32>, outputChannels: Int, pooled: Int, group: Int,
                                     source: UnsafePointer<Float>, window: PooledWeightGradient.Window,
                                     dweight: UnsafeMutablePointer<Float>, accumulate: Bool,
                                     factors: UnsafeMutablePointer<Float>) {
        supportedKernels.pooledWeightGradient(gradient: gradient, reluOutput: reluOutput, origins: origins,
                                              outputChannels: outputChannels, pooled: pooled, group: group, source: source,
                                              window: window, dweight: dweight, accumulate: accumulate, factors: factors)
    }

    /// ``PooledInputGradient``: a pooled convolution's input gradient (channels-last) from the
    /// positions the pooling passed gradient to, with this path's vectors and multiply-add.
    public func pooledInputGradient(factors: UnsafePointer<Float>, origins: UnsafePointer<Int32>, outputChannels: Int,
                                    pooled: Int, group: Int, weight: UnsafePointer<Float>,
                                    window: PooledWeightGradient.Window, inputGradient: UnsafeMutablePointer<Float>) {
        supportedKernels.pooledInputGradient(factors: factors, origins: origins, outputChannels: outputChannels,
                                             pooled: pooled, group: group, weight: weight, window: window,
                                             inputGradient: inputGradient)
    }

    /// ``AdamUpdate`` of elements `range` with this path's vectors (the same weights on every path).
    public func adam(_ coefficients: AdamUpdate.Coefficients, w: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                     m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, range: Range<Int>) {
        supportedKernels.adam(coefficients, w: w, grad: grad, m: m, v: v, range: range)
    }

    /// Runs `body` over blocks of 64 columns of `0..<width` (whole vectors on every path), on up
    /// to `threads` threads; narrow products stay on the calling thread, and one thread takes all
    /// columns at once (the kernel reads each term's index once per row, not once per block).
    private static func splitColumns(_ width: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        guard threads > 1 else { return body(0..<width) }
        let block = 64
        let blocks = (width + block - 1) / block
        Parallel.forEach(tasks: blocks, threads: threads) { index in
            body((index * block)..<min(width, (index + 1) * block))
        }
    }

    /// Computes `product` on up to `threads` threads with this path's kernel.
    public func multiply(_ product: MatrixProduct, threads: Int) {
        supportedKernels.multiply(product, threads: threads)
    }
}
