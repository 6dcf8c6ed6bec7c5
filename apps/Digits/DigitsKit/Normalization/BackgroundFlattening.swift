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
                for y in (row * height / rows)..<((row + 1) * height / rows) {
                    for x in (column * width / columns)..<((column + 1) * width / columns) { values.append(self[x, y]) }
                }
                values.sort()
                medians[row * columns + column] = values.isEmpty ? 0 : values[values.count / 2]
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
        let grid = GrayImage(width: columns, height: rows, pixels: background)
        var output = self
        let (cellWidth, cellHeight) = (Float(width) / Float(columns), Float(height) / Float(rows))
        for y in 0..<height {
            // Position between cell centres, clamped at the outer half-cells.
            let gy = Swift.max(0, Swift.min(Float(rows - 1), (Float(y) + 0.5) / cellHeight - 0.5))
            let (y0, fy) = (Int(gy), gy - Float(Int(gy)))
            let y1 = Swift.min(rows - 1, y0 + 1)
            for x in 0..<width {
                let gx = Swift.max(0, Swift.min(Float(columns - 1), (Float(x) + 0.5) / cellWidth - 0.5))
                let (x0, fx) = (Int(gx), gx - Float(Int(gx)))
                let x1 = Swift.min(columns - 1, x0 + 1)
                let level = (grid[x0, y0] * (1 - fx) + grid[x1, y0] * fx) * (1 - fy)
                    + (grid[x0, y1] * (1 - fx) + grid[x1, y1] * fx) * fy
                output.pixels[y * width + x] = Swift.max(0, self[x, y] - level)
            }
        }
        return output
    }
}
