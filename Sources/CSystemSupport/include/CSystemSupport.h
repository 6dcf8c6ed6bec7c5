#ifndef BACKPROP_SYSTEM_SUPPORT_H
#define BACKPROP_SYSTEM_SUPPORT_H

/// 1 when this CPU and OS can run code built for x86-64-v4 (AVX-512 F/BW/CD/DQ/VL + AVX2/FMA), else 0.
/// Always 0 on other architectures.
int backprop_cpu_supports_avx512(void);

/// 1 when this CPU and OS can run code built for x86-64-v3 (AVX2, FMA, BMI1/2, F16C, MOVBE), else 0.
/// Always 0 on other architectures.
int backprop_cpu_supports_avx2(void);

/// The number of processors this process may run on (honours taskset and cgroup CPU masks on
/// Linux), at least 1.
int backprop_available_processors(void);

/// Raises glibc's mmap and trim thresholds so that large freed blocks are reused instead of
/// being unmapped and page-faulted back in on the next allocation. No-op elsewhere.
void backprop_keep_freed_memory(void);

/// Tells the CPU that the calling thread is spinning on a memory location, so that it gives the
/// core's resources to other hardware threads and leaves the loop without a memory-order stall.
static inline void backprop_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
