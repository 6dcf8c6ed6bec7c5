// Legend: r a row of the source, c a column of the source (a row of the destination).

/// A matrix transposed, eight rows by eight columns at a time in registers:
///
///     destination[c · destinationStride + r] (+)= source[r · sourceStride + c]   for r < rows, c < columns
///
/// A house-price network's first layer turns its 128×598 weight into table rows and the table's
/// gradient back into the weight's gradient this way on every batch (element by element it was
/// ~10 % of an epoch). Each element is copied, or added once, so every path gives the same bits.
public enum Transpose {
    /// See the type's description; `adding` adds to the destination instead of overwriting it.
    /// Always inlined, so that each path's module compiles it for its own instructions.
    @inlinable @inline(__always)
    public static func run(_ source: UnsafePointer<Float>, rows: Int, columns: Int, sourceStride: Int,
                           into destination: UnsafeMutablePointer<Float>, destinationStride: Int, adding: Bool) {
        typealias V = SIMD8<Float>
        let sourceBytes = UnsafeRawPointer(source)
        let destinationBytes = UnsafeMutableRawPointer(destination)
        let (blockRows, blockColumns) = (rows & ~7, columns & ~7)
        for r in stride(from: 0, to: blockRows, by: 8) {
            for c in stride(from: 0, to: blockColumns, by: 8) {
                func row(_ i: Int) -> V { sourceBytes.loadUnaligned(fromByteOffset: ((r + i) * sourceStride + c) * 4, as: V.self) }
                let block = unshuffled(unshuffled(unshuffled((row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)))))
                func store(_ column: V, _ j: Int) {
                    let offset = ((c + j) * destinationStride + r) * 4
                    let total = adding ? column + destinationBytes.loadUnaligned(fromByteOffset: offset, as: V.self) : column
                    destinationBytes.storeBytes(of: total, toByteOffset: offset, as: V.self)
                }
                store(block.0, 0); store(block.1, 1); store(block.2, 2); store(block.3, 3)
                store(block.4, 4); store(block.5, 5); store(block.6, 6); store(block.7, 7)
            }
        }
        // The columns right of the blocks, then the rows below them, one element at a time.
        func element(_ r: Int, _ c: Int) {
            let value = source[r * sourceStride + c]
            destination[c * destinationStride + r] = adding ? destination[c * destinationStride + r] + value : value
        }
        for r in 0..<blockRows { for c in blockColumns..<columns { element(r, c) } }
        for r in blockRows..<rows { for c in 0..<columns { element(r, c) } }
    }

    public typealias Block = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
                              SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// One round of the transpose: vectors paired in order, each pair's even lanes to the first
    /// half of the result, its odd lanes to the second. Viewing element (vector i, lane j) as the
    /// six bits of 8i + j, a round rotates them right by one; three rounds swap i and j.
    @inlinable @inline(__always)
    static func unshuffled(_ v: Block) -> Block {
        let pairs = (SIMD16(lowHalf: v.0, highHalf: v.1), SIMD16(lowHalf: v.2, highHalf: v.3),
                     SIMD16(lowHalf: v.4, highHalf: v.5), SIMD16(lowHalf: v.6, highHalf: v.7))
        return (pairs.0.evenHalf, pairs.1.evenHalf, pairs.2.evenHalf, pairs.3.evenHalf,
                pairs.0.oddHalf, pairs.1.oddHalf, pairs.2.oddHalf, pairs.3.oddHalf)
    }
}
