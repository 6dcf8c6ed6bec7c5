import MatrixKernels

/// GEMM for x86-64-v3 CPUs (AVX2 + FMA): a 6×16 tile of 8-lane FMAs, 12 of the 16 ymm registers.
///
/// This module is compiled with `-march=x86-64-v3`; call it only when
/// `backprop_cpu_supports_avx2()` says so.
public enum AVX2GEMM {
    public typealias Kernel = MicroKernel6x2<FusedMultiplyAdd<SIMD8<Float>>>
}

/// The templates compiled here, with this module's instructions (see ``InstructionSetKernels``).
extension AVX2GEMM: InstructionSetKernels {}
