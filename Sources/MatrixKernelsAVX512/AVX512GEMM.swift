import MatrixKernels

/// GEMM for x86-64-v4 CPUs (AVX-512): a 12×32 tile of 16-lane FMAs, 24 of the 32 zmm registers.
///
/// This module is compiled with `-march=x86-64-v4`; call it only when
/// `backprop_cpu_supports_avx512()` says so, or the process dies with SIGILL.
public enum AVX512GEMM {
    public typealias Kernel = MicroKernel12x2<FusedMultiplyAdd<SIMD16<Float>>>
}

/// The templates compiled here, with this module's instructions (see ``InstructionSetKernels``).
extension AVX512GEMM: InstructionSetKernels {}
