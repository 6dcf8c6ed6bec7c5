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
}

/// The templates compiled here, with this module's instructions (see ``InstructionSetKernels``).
extension PortableGEMM: InstructionSetKernels {}
