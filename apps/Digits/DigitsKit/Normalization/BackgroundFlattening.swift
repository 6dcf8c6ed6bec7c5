import PNGCodec

extension GrayImage {
    /// The image minus a smooth estimate of its background, clamped at 0: what is left is ink
    /// (bright) on a background of 0, however unevenly lit the paper was.
    ///
    /// The background is the median of each cell of an 8×8 grid (paper covers most of a cell),
    /// then the smallest such median among each cell and its neighbours (a cell that a thick
    /// stroke covers takes the paper level next to it), interpolated bilinearly between cell
    /// centres. Shadows, gradients and grey paper are removed; anything smaller than a cell,
    /// such as a stroke, is not.
    package func subtractingBackground(cells: Int = 8) -> GrayImage {
        let (columns, rows) = (Swift.min(cells, width), Swift.min(cells, height))
        var medians = [Float](repeating: 0, count: columns * rows)
        var values: [Float] = []
        for row in 0..<rows {
            for column in 0..<columns {
                values.removeAll(keepingCapacity: true)
                let (left, right) = (column * width / columns, (column + 1) * width / columns)
                for y in (row * height / rows)..<((row + 1) * height / rows) {
                    values.append(contentsOf: pixels[(y * width + left)..<(y * width + right)])
                }
                medians[row * columns + column] = values.isEmpty ? 0 : Self.median(&values)
            }
        }
        var background = medians
        for row in 0..<rows {
            for column in 0..<columns {
                var lowest = Float.infinity
                for r in Swift.max(0, row - 1)...Swift.min(rows - 1, row + 1) {
                    for c in Swift.max(0, column - 1)...Swift.min(columns - 1, column + 1) {
                        lowest = Swift.min(lowest, medians[r * columns + c])
                    }
                }
                background[row * columns + column] = lowest
            }
        }
        let (cellWidth, cellHeight) = (Float(width) / Float(columns), Float(height) / Float(rows))
        // Each column's position between cell centres (clamped at the outer half-cells) depends
        // on x alone: computed once, not once per row.
        let spans = (0..<width).map { x -> (x0: Int, x1: Int, fx: Float) in
            let gx = Swift.max(0, Swift.min(Float(columns - 1), (Float(x) + 0.5) / cellWidth - 0.5))
            return (Int(gx), Swift.min(columns - 1, Int(gx) + 1), gx - Float(Int(gx)))
        }
        // The level along the grid row of each pixel column, for the two grid rows a pixel row lies
        // between: recomputed only when those change (at most once per grid row), so the loop over
        // the pixels only blends two levels, and vectorises. The same products and sums, in the same
        // order, as interpolating each pixel from its four cell centres.
        var (upper, lower) = ([Float](repeating: 0, count: width), [Float](repeating: 0, count: width))
        var rowPair = (-1, -1)
        // Every output pixel is written below: the buffer is not filled (nor copied from `self`) first.
        let flattened = [Float](unsafeUninitializedCapacity: pixels.count) { target, initialized in
            background.withUnsafeBufferPointer { grid in
                pixels.withUnsafeBufferPointer { source in
                    upper.withUnsafeMutableBufferPointer { upper in
                        lower.withUnsafeMutableBufferPointer { lower in
                            for y in 0..<height {
                                let gy = Swift.max(0, Swift.min(Float(rows - 1), (Float(y) + 0.5) / cellHeight - 0.5))
                                let (y0, fy) = (Int(gy), gy - Float(Int(gy)))
                                let y1 = Swift.min(rows - 1, y0 + 1)
                                if rowPair != (y0, y1) {
                                    rowPair = (y0, y1)
                                    for x in 0..<width {
                                        let (x0, x1, fx) = spans[x]
                                        upper[x] = grid[y0 * columns + x0] * (1 - fx) + grid[y0 * columns + x1] * fx
                                        lower[x] = grid[y1 * columns + x0] * (1 - fx) + grid[y1 * columns + x1] * fx
                                    }
                                }
                                let (above, below) = (1 - fy, fy)
                                let (sourceRow, targetRow) = (source.baseAddress! + y * width, target.baseAddress! + y * width)
                                for x in 0..<width {
                                    let level = upper[x] * above + lower[x] * below
                                    let difference = sourceRow[x] - level
                                    targetRow[x] = difference >= 0 ? difference : 0   // as Swift.max(0, difference)
                                }
                            }
                        }
                    }
                }
            }
            initialized = pixels.count
        }
        return GrayImage(width: width, height: height, pixels: flattened)
    }

    /// The value of rank `count / 2` among `values` (which it may reorder), as `select` finds it.
    /// When one level fills more than half of the values (blank paper, a canvas, a clipped white
    /// scan), that level is the answer: it fills a block of more than half of the sorted order,
    /// which must cover the middle. That is checked first, in one vector pass, for the level
    /// `select` would take as its first pivot; otherwise `select` runs (on uniform paper its
    /// partitions swapped every pair of equal values, most of flattening's time).
    package static func median(_ values: inout [Float]) -> Float {
        precondition(!values.isEmpty, "median of no values")
        let (first, middle, last) = (values[0], values[(values.count - 1) / 2], values[values.count - 1])
        let candidate = Swift.max(Swift.min(first, middle), Swift.min(Swift.max(first, middle), last))
        let count = InkSegmentation.count(values, lanes: { $0 .== candidate }, each: { $0 == candidate })
        return count * 2 > values.count ? candidate : select(&values, rank: values.count / 2)
    }

    /// The value of rank `rank` (0-based) among `values`, which it reorders: what sorting would
    /// put at that index, found by quickselect in linear time on average.
    package static func select(_ values: inout [Float], rank: Int) -> Float {
        // Through a raw buffer: the swaps of checked array elements were most of flattening.
        values.withUnsafeMutableBufferPointer { values in
            var (low, high) = (0, values.count - 1)
            while low < high {
                // Median-of-three pivot, then a Hoare partition.
                let middle = low + (high - low) / 2
                let pivot = Swift.max(Swift.min(values[low], values[middle]), Swift.min(Swift.max(values[low], values[middle]), values[high]))
                var (i, j) = (low, high)
                while i <= j {
                    while values[i] < pivot { i += 1 }
                    while values[j] > pivot { j -= 1 }
                    if i <= j {
                        values.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                if rank <= j { high = j } else if rank >= i { low = i } else { return values[rank] }
            }
            return values[rank]
        }
    }
}
