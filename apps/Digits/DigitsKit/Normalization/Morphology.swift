import PNGCodec

extension GrayImage {
    /// Grayscale dilation by a disk of `radius` pixels: each pixel becomes the largest value
    /// within that distance. Thickens bright strokes by about `2 · radius`.
    package func dilated(radius: Int) -> GrayImage {
        guard radius > 0 else { return self }
        var offsets: [(dx: Int, dy: Int)] = []
        for dy in -radius...radius {
            for dx in -radius...radius where dx * dx + dy * dy <= radius * radius + radius { offsets.append((dx, dy)) }
        }
        var output = self
        for y in 0..<height {
            for x in 0..<width {
                var best = pixels[y * width + x]
                for (dx, dy) in offsets {
                    let (nx, ny) = (x + dx, y + dy)
                    if nx >= 0 && nx < width && ny >= 0 && ny < height { best = Swift.max(best, pixels[ny * width + nx]) }
                }
                output.pixels[y * width + x] = best
            }
        }
        return output
    }
}
