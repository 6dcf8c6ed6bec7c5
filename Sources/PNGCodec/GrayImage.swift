/// A grayscale image with values in [0, 1] (0 black, 1 white), row-major, top row first.
public struct GrayImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `width * height` values.
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height,
                     "GrayImage: \(pixels.count) pixels for \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, repeating value: Float = 0) {
        self.init(width: width, height: height, pixels: [Float](repeating: value, count: width * height))
    }

    public subscript(x: Int, y: Int) -> Float {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }
}

/// Gray and alpha samples as decoded, before compositing; both in [0, 1].
public struct GrayAlphaImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var gray: [Float]
    /// The stored opacities, or nil when every pixel is opaque: a 12-megapixel photo without an
    /// alpha channel would otherwise carry 48 MB of ones, written and then scanned to learn that.
    private var opacities: [Float]?

    /// `alpha` nil means every pixel is opaque.
    public init(width: Int, height: Int, gray: [Float], alpha: [Float]?) {
        precondition(gray.count == width * height && (alpha == nil || alpha!.count == gray.count),
                     "GrayAlphaImage: \(gray.count) gray and \(alpha?.count ?? gray.count) alpha values for \(width)×\(height)")
        (self.width, self.height, self.gray, self.opacities) = (width, height, gray, alpha)
    }

    /// 1 = opaque, per pixel (all ones for images without transparency).
    public var alpha: [Float] { opacities ?? [Float](repeating: 1, count: gray.count) }

    /// Whether any pixel is less than fully opaque.
    public var hasTransparency: Bool { opacities?.contains { $0 < 1 } ?? false }

    public static func == (a: GrayAlphaImage, b: GrayAlphaImage) -> Bool {
        a.width == b.width && a.height == b.height && a.gray == b.gray && a.alpha == b.alpha
    }

    /// Composites the image over a uniform background of gray level `background`.
    public func composited(over background: Float) -> GrayImage {
        guard let opacities else { return GrayImage(width: width, height: height, pixels: gray) }
        let pixels = [Float](unsafeUninitializedCapacity: gray.count) { pixels, initialized in
            gray.withUnsafeBufferPointer { gray in
                opacities.withUnsafeBufferPointer { opacities in
                    for i in gray.indices { pixels[i] = opacities[i] * gray[i] + (1 - opacities[i]) * background }
                }
            }
            initialized = gray.count
        }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    /// Composites over the background that keeps the drawing visible: transparent areas become
    /// white under dark ink and black under light ink, judged from the opaque pixels' mean level.
    /// A black digit on a transparent canvas (the usual export of drawing apps) thus becomes a
    /// black digit on white paper, not a black square.
    public func compositedOverContrastingBackground() -> GrayImage {
        guard let opacities, hasTransparency else { return GrayImage(width: width, height: height, pixels: gray) }
        // The opacity-weighted mean level, summed in eight interleaved parts (one running sum
        // makes each addition wait for the last).
        var (weighted, weight) = (SIMD8<Float>(), SIMD8<Float>())
        var tail: (weighted: Float, weight: Float) = (0, 0)
        gray.withUnsafeBufferPointer { gray in
            opacities.withUnsafeBufferPointer { opacities in
                var i = 0
                while i + 8 <= gray.count {
                    let value = UnsafeRawPointer(gray.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
                    let opacity = UnsafeRawPointer(opacities.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
                    weighted += value * opacity
                    weight += opacity
                    i += 8
                }
                while i < gray.count {
                    tail.weighted += gray[i] * opacities[i]
                    tail.weight += opacities[i]
                    i += 1
                }
            }
        }
        let totalWeight = weight.sum() + tail.weight
        let inkLevel = totalWeight > 0 ? (weighted.sum() + tail.weighted) / totalWeight : 0
        return composited(over: inkLevel > 0.5 ? 0 : 1)
    }
}
