/// The sizes of one 2-D convolution or pooling window over one sample.
///
/// Legend: c channels, h×w input, kh×kw window, oh×ow output, s stride, p zero padding.
public struct ConvolutionGeometry: Equatable, Sendable {
    public let channels: Int
    public let height: Int
    public let width: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int

    public init(channels: Int, height: Int, width: Int, kernelSize: Int, stride: Int, padding: Int) {
        self.channels = channels
        self.height = height
        self.width = width
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    /// Output height: ⌊(h + 2p − kh) / s⌋ + 1 (≤ 0 when the window does not fit).
    public var outputHeight: Int { (height + 2 * padding - kernelSize) / stride + 1 }
    /// Output width: ⌊(w + 2p − kw) / s⌋ + 1.
    public var outputWidth: Int { (width + 2 * padding - kernelSize) / stride + 1 }
    /// Output positions per channel (oh·ow): the column count of the im2col matrix.
    public var outputPositions: Int { outputHeight * outputWidth }
    /// c·kh·kw: the row count of the im2col matrix.
    public var patchSize: Int { channels * kernelSize * kernelSize }
    /// c·h·w: floats in one input sample.
    public var inputSize: Int { channels * height * width }

    /// The range of output columns `ow` whose input column `ow·s − p + kw` lies inside the image.
    @inline(__always)
    func validOutputColumns(kernelColumn kw: Int) -> Range<Int> {
        // ow·s − p + kw ≥ 0  ⇔  ow ≥ ⌈(p − kw) / s⌉;   ow·s − p + kw < w  ⇔  ow < ⌈(w + p − kw) / s⌉
        let low = max(0, ceilDivide(padding - kw, stride))
        let high = min(outputWidth, max(0, ceilDivide(width + padding - kw, stride)))
        return low..<max(low, high)
    }

    @inline(__always)
    private func ceilDivide(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? (a + b - 1) / b : -((-a) / b)
    }
}
