import CSystemSupport

/// Keeps glibc from returning large freed blocks to the OS, for programs that train.
///
/// Every training batch allocates activations and gradients of several MB. By default glibc serves
/// such blocks with mmap and unmaps them on free, so every batch page-faults all of its memory in
/// again (measured on the PT-example CNN at batch 64: 442,000 faults and 37 ms per step, against
/// 35,000 faults and 29 ms with these settings). Raising the mmap threshold to its maximum and the
/// trim threshold far above it lets freed blocks be reused.
///
/// This changes the allocator of the whole process, so the engine never does it by itself: the
/// command-line tools opt in at start-up, and a program embedding the engine may call it too.
public enum AllocatorTuning {
    /// Applies the settings (once; later calls do nothing). No effect outside glibc.
    public static func keepFreedMemory() { _ = applied }

    private static let applied: Bool = {
        backprop_keep_freed_memory()
        return true
    }()
}
