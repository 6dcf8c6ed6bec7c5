// Legend: r a row of the source, c a column of the source (a row of the destination).

/// `destination[c · destinationStride + r] = source[r · sourceStride + c]` (or `+=` when
/// `adding`) for `r < rows`, `c < columns`: a matrix transposed, four rows by four columns at a
/// time in registers (eight shuffles per block), the edges one element at a time. A house-price
/// network's first layer turns its 128×598 weight into table rows and the table's gradient back
/// into the weight's this way on every batch; element by element it was ~10 % of an epoch.
func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, sourceStride: Int,
               into destination: UnsafeMutablePointer<Float>, destinationStride: Int, adding: Bool) {
    let source = UnsafeRawPointer(source)
    let destinationBytes = UnsafeMutableRawPointer(destination)
    func load(_ r: Int, _ c: Int) -> SIMD4<Float> {
        source.loadUnaligned(fromByteOffset: (r * sourceStride + c) * 4, as: SIMD4<Float>.self)
    }
    func store(_ value: SIMD4<Float>, _ c: Int, _ r: Int) {
        let offset = (c * destinationStride + r) * 4
        let total = adding ? value + destinationBytes.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self) : value
        destinationBytes.storeBytes(of: total, toByteOffset: offset, as: SIMD4<Float>.self)
    }
    let (blockRows, blockColumns) = (rows & ~3, columns & ~3)
    for r in stride(from: 0, to: blockRows, by: 4) {
        for c in stride(from: 0, to: blockColumns, by: 4) {
            // Rows a, b, c, d of the block: (a0 a2 b0 b2), (a1 a3 b1 b3), then the same for c, d.
            let ab = SIMD8(lowHalf: load(r, c), highHalf: load(r + 1, c))
            let cd = SIMD8(lowHalf: load(r + 2, c), highHalf: load(r + 3, c))
            let (evenAB, oddAB, evenCD, oddCD) = (ab.evenHalf, ab.oddHalf, cd.evenHalf, cd.oddHalf)
            let even = SIMD8(lowHalf: evenAB, highHalf: evenCD), odd = SIMD8(lowHalf: oddAB, highHalf: oddCD)
            store(even.evenHalf, c, r)       // (a0 b0 c0 d0)
            store(odd.evenHalf, c + 1, r)    // (a1 b1 c1 d1)
            store(even.oddHalf, c + 2, r)    // (a2 b2 c2 d2)
            store(odd.oddHalf, c + 3, r)     // (a3 b3 c3 d3)
        }
    }
    // The columns right of the blocks, then the rows below them.
    func element(_ r: Int, _ c: Int) {
        let value = source.load(fromByteOffset: (r * sourceStride + c) * 4, as: Float.self)
        destination[c * destinationStride + r] = adding ? destination[c * destinationStride + r] + value : value
    }
    for r in 0..<blockRows { for c in blockColumns..<columns { element(r, c) } }
    for r in blockRows..<rows { for c in 0..<columns { element(r, c) } }
}
