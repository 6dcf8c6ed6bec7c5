import PNGCodec

extension GrayImage {
    /// The image shrunk to `width × height` by averaging each output pixel over the exact source
    /// area it covers (fractional edges weighted): anti-aliases without blurring more than the
    /// scale requires. For reductions (each output pixel covers at least one source pixel).
    package func areaResampled(width: Int, height: Int) -> GrayImage {
        let scaleX = Float(self.width) / Float(width), scaleY = Float(self.height) / Float(height)
        var output = GrayImage(width: width, height: height)
        // Column spans and weights depend only on ox: computed once, not once per row.
        let columns = (0..<width).map { ox -> (first: Int, weights: [Float]) in
            let (x0, x1) = (Float(ox) * scaleX, Float(ox + 1) * scaleX)
            let first = Int(x0)
            return (first, (first..<Swift.min(self.width, Int(x1.rounded(.up)))).map { sx in
                Swift.min(x1, Float(sx + 1)) - Swift.max(x0, Float(sx))
            })
        }
        let area = scaleX * scaleY
        pixels.withUnsafeBufferPointer { source in
            output.pixels.withUnsafeMutableBufferPointer { target in
                var row = [Float](repeating: 0, count: self.width)
                for oy in 0..<height {
                    let (y0, y1) = (Float(oy) * scaleY, Float(oy + 1) * scaleY)
                    // The output row's source rows, summed with their vertical coverage.
                    for x in 0..<self.width { row[x] = 0 }
                    for sy in Int(y0)..<Swift.min(self.height, Int(y1.rounded(.up))) {
                        let cover = Swift.min(y1, Float(sy + 1)) - Swift.max(y0, Float(sy))
                        let base = sy * self.width
                        for x in 0..<self.width { row[x] += source[base + x] * cover }
                    }
                    for ox in 0..<width {
                        let (first, weights) = columns[ox]
                        var sum: Float = 0
                        for (k, weight) in weights.enumerated() { sum += row[first + k] * weight }
                        target[oy * width + ox] = sum / area
                    }
                }
            }
        }
        return output
    }

    /// The image shrunk to `width × height`, each output pixel the largest source value it covers:
    /// a line thinner than an output pixel keeps its full level instead of fading.
    package func maxResampled(width: Int, height: Int) -> GrayImage {
        var output = GrayImage(width: width, height: height)
        for y in 0..<self.height {
            let oy = Swift.min(height - 1, y * height / self.height)
            for x in 0..<self.width {
                let index = oy * width + Swift.min(width - 1, x * width / self.width)
                output.pixels[index] = Swift.max(output.pixels[index], pixels[y * self.width + x])
            }
        }
        return output
    }

    /// The image enlarged to `width × height` by bilinear interpolation between pixel centres.
    package func bilinearResampled(width: Int, height: Int) -> GrayImage {
        let scaleX = Float(self.width) / Float(width), scaleY = Float(self.height) / Float(height)
        var output = GrayImage(width: width, height: height)
        for oy in 0..<height {
            let sy = Swift.max(0, Swift.min(Float(self.height - 1), (Float(oy) + 0.5) * scaleY - 0.5))
            let y0 = Int(sy), y1 = Swift.min(self.height - 1, y0 + 1), fy = sy - Float(y0)
            for ox in 0..<width {
                let sx = Swift.max(0, Swift.min(Float(self.width - 1), (Float(ox) + 0.5) * scaleX - 0.5))
                let x0 = Int(sx), x1 = Swift.min(self.width - 1, x0 + 1), fx = sx - Float(x0)
                let top = self[x0, y0] * (1 - fx) + self[x1, y0] * fx
                let bottom = self[x0, y1] * (1 - fx) + self[x1, y1] * fx
                output.pixels[oy * width + ox] = top * (1 - fy) + bottom * fy
            }
        }
        return output
    }

    /// Resampled to `width × height`: area averaging when shrinking, bilinear when enlarging.
    package func resampled(width: Int, height: Int) -> GrayImage {
        if width == self.width && height == self.height { return self }
        return width < self.width || height < self.height ? areaResampled(width: width, height: height)
                                                          : bilinearResampled(width: width, height: height)
    }
}
