/// One instruction set's kernels: every template of this module, instantiated with one
/// micro-kernel. A module compiled for that instruction set (`-march`) declares the conformance,
/// `extension AVX512GEMM: InstructionSetKernels {}`, and the default implementations below are
/// specialised and compiled there, with its instructions: each is `@inlinable`, and the kernels
/// they call are generic over the kernel's arithmetic or always inlined. The engine calls them
/// through the conforming type (`KernelPath`), never from this module's own baseline build.
public protocol InstructionSetKernels {
    associatedtype Kernel: MicroKernel

    /// The micro-kernel's tile (MR × NR): the widths of the panels it reads (see `PanelPacking`).
    static var panelWidths: (rows: Int, columns: Int) { get }
    /// Lanes of the kernel's vectors.
    static var lanes: Int { get }
    static func multiply(_ product: MatrixProduct, threads: Int)
    static func gather(_ sparse: GatherProduct.SparseRows, table: UnsafePointer<Float>, tableStride: Int,
                       output: UnsafeMutablePointer<Float>, outputStride: Int, columns: Range<Int>, accumulate: Bool)
    static func adam(_ coefficients: AdamUpdate.Coefficients, w: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                     m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, range: Range<Int>)
    static func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, sourceStride: Int,
                          into destination: UnsafeMutablePointer<Float>, destinationStride: Int, adding: Bool)
    static func dropout(state: UInt64, keepThreshold: UInt32, scale: Float, input: UnsafePointer<Float>,
                        factors: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int)
    static func directConvolution(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outputChannels: Int,
                                  channels: Int, kernelSize: Int, padded: UnsafePointer<Float>, paddedWidth: Int,
                                  outputHeight: Int, outputWidth: Int, output: UnsafeMutablePointer<Float>)
    static func winogradConvolution(_ geometry: WinogradConvolution.Geometry, input: UnsafePointer<Float>,
                                    packedWeight: UnsafePointer<Float>, bias: UnsafePointer<Float>, tiles: Range<Int>,
                                    tilesPerBlock: Int, output: UnsafeMutablePointer<Float>,
                                    mode: WinogradConvolution.Output, argmax: UnsafeMutablePointer<Int32>?,
                                    scratch: UnsafeMutablePointer<Float>)
    static func pooledWeightGradient(gradient: UnsafePointer<Float>, reluOutput: UnsafePointer<Float>?,
                                     origins: UnsafePointer<Int32>, outputChannels: Int, pooled: Int, group: Int,
                                     source: UnsafePointer<Float>, window: PooledWeightGradient.Window,
                                     dweight: UnsafeMutablePointer<Float>, accumulate: Bool,
                                     factors: UnsafeMutablePointer<Float>)
    static func pooledInputGradient(factors: UnsafePointer<Float>, origins: UnsafePointer<Int32>, outputChannels: Int,
                                    pooled: Int, group: Int, weight: UnsafePointer<Float>,
                                    window: PooledWeightGradient.Window, inputGradient: UnsafeMutablePointer<Float>)
    static func fmaPeak(rounds: Int) -> Float
    static func microKernelSweep(depth: Int, a: UnsafePointer<Float>, panels: Int, b: UnsafePointer<Float>,
                                 c: UnsafeMutablePointer<Float>, repetitions: Int)
}

extension InstructionSetKernels {
    @inlinable
    public static var panelWidths: (rows: Int, columns: Int) { (Kernel.rows, Kernel.columns) }

    @inlinable
    public static var lanes: Int { Kernel.Vector.scalarCount }

    /// ``BlockedGEMM`` on this kernel.
    @inlinable
    public static func multiply(_ product: MatrixProduct, threads: Int) {
        BlockedGEMM<Kernel>.multiply(product, threads: threads)
    }

    /// ``GatherProduct`` on this kernel's vectors and multiply-add form.
    @inlinable
    public static func gather(_ sparse: GatherProduct.SparseRows, table: UnsafePointer<Float>, tableStride: Int,
                              output: UnsafeMutablePointer<Float>, outputStride: Int, columns: Range<Int>, accumulate: Bool) {
        GatherProduct.gather(Kernel.Arithmetic.self, sparse, table: table, tableStride: tableStride,
                             output: output, outputStride: outputStride, columns: columns, accumulate: accumulate)
    }

    /// ``AdamUpdate`` on this kernel's vectors.
    @inlinable
    public static func adam(_ coefficients: AdamUpdate.Coefficients, w: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, range: Range<Int>) {
        AdamUpdate.run(Kernel.Vector.self, coefficients, w: w, grad: grad, m: m, v: v, range: range)
    }

    /// ``Transpose``, compiled with the conforming module's instructions.
    @inlinable
    public static func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, sourceStride: Int,
                                 into destination: UnsafeMutablePointer<Float>, destinationStride: Int, adding: Bool) {
        Transpose.run(source, rows: rows, columns: columns, sourceStride: sourceStride, into: destination,
                      destinationStride: destinationStride, adding: adding)
    }

    /// ``DropoutMask``, compiled with the conforming module's instructions.
    @inlinable
    public static func dropout(state: UInt64, keepThreshold: UInt32, scale: Float, input: UnsafePointer<Float>,
                               factors: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        DropoutMask.run(state: state, keepThreshold: keepThreshold, scale: scale, input: input, factors: factors,
                        output: output, count: count)
    }

    /// ``DirectConvolution`` on this kernel's vectors and multiply-add form (the GEMM's own sums).
    @inlinable
    public static func directConvolution(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outputChannels: Int,
                                         channels: Int, kernelSize: Int, padded: UnsafePointer<Float>, paddedWidth: Int,
                                         outputHeight: Int, outputWidth: Int, output: UnsafeMutablePointer<Float>) {
        DirectConvolution.run(Kernel.Arithmetic.self, weight: weight, bias: bias, outputChannels: outputChannels,
                              channels: channels, kernelSize: kernelSize, padded: padded, paddedWidth: paddedWidth,
                              outputHeight: outputHeight, outputWidth: outputWidth, output: output)
    }

    /// ``WinogradConvolution`` on this kernel's vectors and GEMM.
    @inlinable
    public static func winogradConvolution(_ geometry: WinogradConvolution.Geometry, input: UnsafePointer<Float>,
                                           packedWeight: UnsafePointer<Float>, bias: UnsafePointer<Float>, tiles: Range<Int>,
                                           tilesPerBlock: Int, output: UnsafeMutablePointer<Float>,
                                           mode: WinogradConvolution.Output, argmax: UnsafeMutablePointer<Int32>?,
                                           scratch: UnsafeMutablePointer<Float>) {
        WinogradConvolution.run(Kernel.self, geometry, input: input, packedWeight: packedWeight, bias: bias, tiles: tiles,
                                tilesPerBlock: tilesPerBlock, output: output, mode: mode, argmax: argmax,
                                scratch: scratch)
    }

    /// ``PooledWeightGradient`` on this kernel's vectors and multiply-add form.
    @inlinable
    public static func pooledWeightGradient(gradient: UnsafePointer<Float>, reluOutput: UnsafePointer<Float>?,
                                            origins: UnsafePointer<Int32>, outputChannels: Int, pooled: Int, group: Int,
                                            source: UnsafePointer<Float>, window: PooledWeightGradient.Window,
                                            dweight: UnsafeMutablePointer<Float>, accumulate: Bool,
                                            factors: UnsafeMutablePointer<Float>) {
        PooledWeightGradient.run(Kernel.Arithmetic.self, gradient: gradient, reluOutput: reluOutput, origins: origins,
                                 outputChannels: outputChannels, pooled: pooled, group: group, source: source, window: window,
                                 dweight: dweight, accumulate: accumulate, factors: factors)
    }

    /// ``PooledInputGradient`` on this kernel's vectors and multiply-add form.
    @inlinable
    public static func pooledInputGradient(factors: UnsafePointer<Float>, origins: UnsafePointer<Int32>, outputChannels: Int,
                                           pooled: Int, group: Int, weight: UnsafePointer<Float>,
                                           window: PooledWeightGradient.Window, inputGradient: UnsafeMutablePointer<Float>) {
        PooledInputGradient.run(Kernel.Arithmetic.self, factors: factors, origins: origins, outputChannels: outputChannels,
                                pooled: pooled, group: group, weight: weight, window: window, inputGradient: inputGradient)
    }

    /// ``FMAPeak`` on this kernel's vectors and multiply-add form.
    @inlinable
    public static func fmaPeak(rounds: Int) -> Float { FMAPeak.run(Kernel.Arithmetic.self, rounds: rounds) }

    /// The micro-kernel alone, as the blocked GEMM drives it, for measuring it (`bench --only
    /// kernels`): `repetitions` times, for each of the `panels` packed A panels (`depth × rows`
    /// floats each, one after another in `a`), one `rows × columns` tile of `c` += that panel × the
    /// packed B panel `b` (`depth × columns`). Each tile takes `2 · depth · rows · columns` flops.
    /// `c` holds `panels` tiles, `columns` floats per row.
    @inlinable
    public static func microKernelSweep(depth: Int, a: UnsafePointer<Float>, panels: Int, b: UnsafePointer<Float>,
                                        c: UnsafeMutablePointer<Float>, repetitions: Int) {
        let (rows, columns) = (Kernel.rows, Kernel.columns)
        for _ in 0..<repetitions {
            for panel in 0..<panels {
                Kernel.multiply(depth: depth, a: a + panel * depth * rows, b: b, bStride: columns,
                                c: c + panel * rows * columns, cRowStride: columns, accumulate: true)
            }
        }
    }
}
