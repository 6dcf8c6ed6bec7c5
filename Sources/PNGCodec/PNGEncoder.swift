import CZlib

/// Writes PNG files of every standard kind: all colour types and bit depths, Adam7 interlacing,
/// all five scanline filters, tRNS transparency and bKGD. The tests use it to produce images of every kind (and broken
/// ones) with known pixels; the tools use it to make sample digits. Written directly (chunks,
/// filters, zlib) because libpng's simplified writer covers 8/16-bit non-interlaced images only.
public struct PNGEncoder {
    public enum ColorType: UInt8, CaseIterable, Sendable {
        case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6

        /// Samples per pixel.
        public var channels: Int {
            switch self {
            case .gray, .palette: 1
            case .grayAlpha: 2
            case .rgb: 3
            case .rgba: 4
            }
        }

        /// Bit depths the PNG specification allows for this colour type.
        public var allowedBitDepths: [Int] {
            switch self {
            case .gray: [1, 2, 4, 8, 16]
            case .palette: [1, 2, 4, 8]
            default: [8, 16]
            }
        }
    }

    public let width: Int
    public let height: Int
    public let colorType: ColorType
    public let bitDepth: Int
    public var interlaced = false
    /// RGB entries for `.palette` images.
    public var palette: [(UInt8, UInt8, UInt8)] = []
    /// Raw tRNS chunk contents (palette alphas, or the transparent gray/RGB sample values).
    public var transparency: [UInt8]?
    /// Raw bKGD chunk contents.
    public var background: [UInt8]?
    /// Scanline filter types to use, cycled row by row: 0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth.
    public var filters: [UInt8] = [0]

    public init(width: Int, height: Int, colorType: ColorType, bitDepth: Int) {
        precondition(colorType.allowedBitDepths.contains(bitDepth), "PNG does not allow \(bitDepth)-bit \(colorType)")
        self.width = width
        self.height = height
        self.colorType = colorType
        self.bitDepth = bitDepth
    }

    /// Encodes `samples`: `width × height × channels` values, each in 0..<2^bitDepth (palette
    /// indices for palette images), row-major, top row first.
    public func encode(samples: [Int]) -> [UInt8] {
        precondition(samples.count == width * height * colorType.channels, "PNGEncoder: wrong sample count")
        precondition(samples.allSatisfy { $0 >= 0 && $0 < 1 << bitDepth }, "PNGEncoder: a sample does not fit \(bitDepth) bits")
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian32(width) + bigEndian32(height)
        header += [UInt8(bitDepth), colorType.rawValue, 0, 0, interlaced ? 1 : 0]
        appendChunk("IHDR", header, to: &file)
        if colorType == .palette {
            appendChunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }, to: &file)
        }
        if let transparency { appendChunk("tRNS", transparency, to: &file) }
        if let background { appendChunk("bKGD", background, to: &file) }
        appendChunk("IDAT", deflate(filteredScanlines(samples)), to: &file)
        appendChunk("IEND", [], to: &file)
        return file
    }

    /// The scanlines of every pass (one pass unless interlaced), each prefixed by its filter type.
    private func filteredScanlines(_ samples: [Int]) -> [UInt8] {
        // Adam7 passes: (x start, y start, x step, y step).
        let passes: [(Int, Int, Int, Int)] = interlaced
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        let channels = colorType.channels
        // Filters work on bytes, comparing with the byte one pixel to the left (at least 1 byte).
        let bytesPerPixel = max(1, channels * bitDepth / 8)
        var output: [UInt8] = []
        var rowIndex = 0
        for (x0, y0, dx, dy) in passes {
            guard x0 < width, y0 < height else { continue }
            var previous: [UInt8] = []   // the pass's previous unfiltered row (empty: zeros)
            for y in stride(from: y0, to: height, by: dy) {
                var raw: [UInt8] = []
                var accumulator = 0, bits = 0
                for x in stride(from: x0, to: width, by: dx) {
                    for c in 0..<channels {
                        let value = samples[(y * width + x) * channels + c]
                        if bitDepth == 16 {
                            raw += [UInt8(value >> 8), UInt8(value & 0xFF)]
                        } else {
                            accumulator = accumulator << bitDepth | value
                            bits += bitDepth
                            if bits == 8 {
                                raw.append(UInt8(accumulator))
                                accumulator = 0
                                bits = 0
                            }
                        }
                    }
                }
                if bits > 0 { raw.append(UInt8(accumulator << (8 - bits))) }
                let filter = filters[rowIndex % filters.count]
                rowIndex += 1
                output.append(filter)
                for i in 0..<raw.count {
                    let left = i >= bytesPerPixel ? Int(raw[i - bytesPerPixel]) : 0
                    let up = previous.isEmpty ? 0 : Int(previous[i])
                    let upLeft = i >= bytesPerPixel && !previous.isEmpty ? Int(previous[i - bytesPerPixel]) : 0
                    let predictor: Int = switch filter {
                    case 1: left
                    case 2: up
                    case 3: (left + up) / 2
                    case 4: paeth(left, up, upLeft)
                    default: 0
                    }
                    output.append(UInt8(truncatingIfNeeded: Int(raw[i]) - predictor))
                }
                previous = raw
            }
        }
        return output
    }

    /// The PNG Paeth predictor: whichever of left, up, up-left is closest to left + up − up-left.
    private func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    private func deflate(_ data: [UInt8]) -> [UInt8] {
        var length = compressBound(uLong(data.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = output.withUnsafeMutableBufferPointer { out in
            data.withUnsafeBufferPointer { compress2(out.baseAddress, &length, $0.baseAddress, uLong(data.count), 6) }
        }
        precondition(status == Z_OK, "zlib compress2 failed: \(status)")
        return Array(output.prefix(Int(length)))
    }

    private func appendChunk(_ type: String, _ data: [UInt8], to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        file += bigEndian32(data.count) + typeBytes + data
        let body = typeBytes + data
        let checksum = body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        file += bigEndian32(Int(checksum))
    }

    private func bigEndian32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
