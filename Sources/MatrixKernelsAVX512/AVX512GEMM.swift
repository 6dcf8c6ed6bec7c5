import MatrixKernels

/// GEMM for x86-64-v4 CPUs (AVX-512): a 12×32 tile of 16-lane FMAs, 24 of the 32 zmm registers.
///
/// This module is compiled with `-march=x86-64-v4`; call it only when
/// `backprop_cpu_supports_avx512()` says so, or the process dies with SIGILL.
public enum AVX512GEMM {
    public typealias Kernel = MicroKernel12x2<FusedMultiplyAdd<SIMD16<Float>>>

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
