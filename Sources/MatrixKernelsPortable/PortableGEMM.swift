import MatrixKernels

/// GEMM for any CPU Swift targets, compiled for the toolchain's baseline (SSE2 on x86-64, NEON on
/// arm64). It is the fallback when no wider path applies and the path tests force to check that
/// the engine is correct without AVX.
public enum PortableGEMM {
    #if arch(arm64)
    // NEON always has FMA and 32 vector registers: 6×16 with 24 accumulator registers.
    public typealias Kernel = MicroKernel6x2<FusedMultiplyAdd<SIMD8<Float>>>
    #else
    // Baseline x86-64 has 16 xmm registers and no FMA: 6×8 with 12 accumulator registers, and a
    // separate multiply and add (an FMA request would become a libm call per lane).
    public typealias Kernel = MicroKernel6x2<SeparateMultiplyAdd<SIMD4<Float>>>
    #endif

    public static func multiply(_ product: MatrixProduct, threads: Int) {
        BlockedGEMM<Kernel>.multiply(product, threads: threads)
    }

    /// ``GatherProduct/gather(_:_:table:tableStride:output:outputStride:columns:accumulate:)`` on this path's vectors.
    public static func gather(_ sparse: GatherProduct.SparseRows, table: UnsafePointer<Float>, tableStride: Int,
                              output: UnsafeMutablePointer<Float>, outputStride: Int, columns: Range<Int>, accumulate: Bool) {
        GatherProduct.gather(Kernel.Arithmetic.self, sparse, table: table, tableStride: tableStride,
                             output: output, outputStride: outputStride, columns: columns, accumulate: accumulate)
    }

    /// ``AdamUpdate`` on this path's vectors.
    public static func adam(_ coefficients: AdamUpdate.Coefficients, w: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, range: Range<Int>) {
        AdamUpdate.run(Kernel.Vector.self, coefficients, w: w, grad: grad, m: m, v: v, range: range)
    }

    /// ``Transpose`` compiled for this path's instructions.
    public static func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, sourceStride: Int,
                                 into destination: UnsafeMutablePointer<Float>, destinationStride: Int, adding: Bool) {
        Transpose.run(source, rows: rows, columns: columns, sourceStride: sourceStride, into: destination,
                      destinationStride: destinationStride, adding: adding)
    }

    /// ``DropoutMask`` compiled for this path's instructions.
    public static func dropout(state: UInt64, keepThreshold: UInt32, scale: Float, input: UnsafePointer<Float>,
                               factors: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        DropoutMask.run(state: state, keepThreshold: keepThreshold, scale: scale, input: input, factors: factors,
                        output: output, count: count)
    }

    /// ``DirectConvolution`` with this path's vectors and multiply-add form (the GEMM's own sums).
    public static func directConvolution(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outputChannels: Int,
                                         channels: Int, kernelSize: Int,
                                         padded: UnsafePointer<Float>, paddedWidth: Int, outputHeight: Int, outputWidth: Int,
                                         output: UnsafeMutablePointer<Float>) {
        DirectConvolution.run(Kernel.Arithmetic.self, weight: weight, bias: bias, outputChannels: outputChannels, channels: channels,
                              kernelSize: kernelSize, padded: padded, paddedWidth: paddedWidth, outputHeight: outputHeight,
                              outputWidth: outputWidth, output: output)
    }

    /// ``FMAPeak`` on this path's vectors and multiply-add form.
    public static func fmaPeak(rounds: Int) -> Float { FMAPeak.run(Kernel.Arithmetic.self, rounds: rounds) }
}
