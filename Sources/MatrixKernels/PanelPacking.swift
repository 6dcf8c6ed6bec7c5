/// The panel layout the micro-kernels read, and the packing into it.
///
/// A logical matrix X [rows × depth] is stored as ⌈rows / width⌉ panels, one after another, each
/// `[depth][width]`: the `width` values of one depth index together, rows past the end zero.
/// A product packs op(A) [m × k] with the kernel's `rows` (MR) as width, and op(B) [k × n] as its
/// transpose op(B)ᵀ [n × k] with the kernel's `columns` (NR). Callers that reuse an operand, or
/// produce it in this layout directly, pass it as `MatrixOperand.packed` to skip that work.
public enum PanelPacking {
    /// Floats that X [rows × depth] takes once packed with panels `width` wide.
    @inlinable
    public static func count(rows: Int, depth: Int, width: Int) -> Int {
        (rows &+ width &- 1) / width &* width &* depth
    }

    /// Packs all of X [rows × depth] (the logical matrix `x` describes) into `destination`,
    /// `count(rows:depth:width:)` floats.
    @inlinable
    public static func pack(_ x: MatrixOperand, rows: Int, depth: Int, width: Int,
                            into destination: UnsafeMutablePointer<Float>) {
        for panel in 0..<((rows &+ width &- 1) / width) {
            packPanel(x, rows: rows, depth: depth, width: width, panel: panel,
                      into: destination + panel &* width &* depth)
        }
    }

    /// All of X [rows × depth] packed into a new array of `count(rows:depth:width:)` floats.
    @inlinable
    public static func packed(_ x: MatrixOperand, rows: Int, depth: Int, width: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count(rows: rows, depth: depth, width: width)) { buffer, initialized in
            pack(x, rows: rows, depth: depth, width: width, into: buffer.baseAddress!)
            initialized = buffer.count
        }
    }

    /// Packs rows `panel·width ..< panel·width + width` of X, all `depth` columns, as
    /// `[depth][width]`, zero-padded past the last row.
    @inlinable
    public static func packPanel(_ x: MatrixOperand, rows: Int, depth: Int, width: Int, panel: Int,
                                 into destination: UnsafeMutablePointer<Float>) {
        let first = panel &* width
        let height = min(width, rows &- first)
        if x.isTransposed {
            // X(i, l) = x[l·ld + i]: the `width` values of one l are contiguous in memory.
            if height == width && width % 8 == 0 {
                // A full panel: each l's `width` floats copied by vector moves (through memmove, a
                // call per l, the copy took 18 % of a 64×128×9216 product's time on Zen 3, and 4 %
                // of a 1024³ one's).
                let rowBytes = width &* MemoryLayout<Float>.stride
                for l in 0..<depth {
                    let source = UnsafeRawPointer(x.base + (l &* x.rowStride &+ first))
                    let target = UnsafeMutableRawPointer(destination + l &* width)
                    var offset = 0
                    while offset < rowBytes {
                        target.storeBytes(of: source.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self),
                                          toByteOffset: offset, as: SIMD8<Float>.self)
                        offset &+= 8 &* MemoryLayout<Float>.stride
                    }
                }
                return
            }
            for l in 0..<depth {
                let target = destination + l &* width
                target.update(from: x.base + (l &* x.rowStride &+ first), count: height)
                if height < width { (target + height).update(repeating: 0, count: width &- height) }
            }
        } else {
            // X(i, l) = x[i·ld + l]: read each row contiguously, scatter with stride `width`.
            // (Blocking this over depth to keep the target in L1 was measured slower: 264 → 121
            // GFLOP/s on a 64×128×9216 dense layer, as it breaks the long sequential reads.)
            if height < width { destination.update(repeating: 0, count: depth &* width) }
            if height >= 8 {
                // A B panel (width NR ≥ 16): the panel is the transpose of its rows, eight by eight
                // in registers (on Zen 3, a 64×256×784 product packing its B this way ran 1.04×,
                // and 64×128×9216 1.08×, as fast as with the four-row path below; the two timed in
                // alternation in one process).
                Transpose.run(x.base + first &* x.rowStride, rows: height, columns: depth, sourceStride: x.rowStride,
                              into: destination, destinationStride: width, adding: false)
                return
            }
            // Four rows at a time, so that each store writes four neighbouring floats: one
            // 16-byte store per cache line visited instead of four scalar ones.
            var r = 0
            while r &+ 4 <= height {
                let s0 = x.base + (first &+ r) &* x.rowStride
                let (s1, s2, s3) = (s0 + x.rowStride, s0 + 2 &* x.rowStride, s0 + 3 &* x.rowStride)
                var target = UnsafeMutableRawPointer(destination + r)
                for l in 0..<depth {
                    target.storeBytes(of: SIMD4<Float>(s0[l], s1[l], s2[l], s3[l]), as: SIMD4<Float>.self)
                    target += width &* MemoryLayout<Float>.stride
                }
                r &+= 4
            }
            for r in r..<height {
                let source = x.base + (first &+ r) &* x.rowStride
                var target = destination + r
                for l in 0..<depth {
                    target.pointee = source[l]
                    target += width
                }
            }
        }
    }
}

extension MatrixOperand {
    /// The same stored matrix read as the transpose of what this operand reads.
    @inlinable
    var transposedView: MatrixOperand {
        var view = self
        view.isTransposed.toggle()
        return view
    }
}
