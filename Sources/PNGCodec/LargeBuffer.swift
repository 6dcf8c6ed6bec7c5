#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for the tens of megabytes a large photo decodes to, backed by 2-MB pages where the
/// kernel offers them (Linux's transparent huge pages in `madvise` mode, Debian's default).
///
/// Why: every fresh 4-KB page costs a fault when first written. Decoding a 12-megapixel photo
/// writes ~84 MB of new memory (its inflated rows and its gray levels): ~21,000 such pages, and
/// the kernel's share of classifying such photos was ~30 % (`perf`, Zen 3). In 2-MB pages it is
/// 42; the photo went from 136–146 to 92–103 ms (`bench --only photo`).
enum LargeBuffer {
    /// Buffers smaller than this keep ordinary pages (one huge page would be mostly empty).
    static let threshold = 4 << 20

    /// Asks for huge pages under `buffer`, which nothing may have written to yet (memory already
    /// touched keeps its small pages). Only the 4-KB-aligned interior is advised; failures are
    /// harmless (the memory simply keeps small pages), so they are ignored.
    static func preferHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard buffer.count >= threshold, let base = buffer.baseAddress else { return }
        let page = 4096
        let start = (Int(bitPattern: base) + page - 1) & ~(page - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(page - 1)
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, end - start, MADV_HUGEPAGE)
        #endif
    }

    /// `count` floats whose values the caller writes in full before reading any.
    static func uninitializedFloats(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            preferHugePages(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}
