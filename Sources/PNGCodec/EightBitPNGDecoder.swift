import CDeflate
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fast path of `PNGDecoder` for the commonest PNGs: 8 bits per sample, not interlaced, gray,
/// gray + alpha, RGB or RGBA, with no chunk that changes their colours. It inflates the image data
/// in one call of libdeflate's whole-buffer decompressor, then unfilters each row in place and
/// converts it to gray (and alpha) levels while it is in L1, giving exactly what libpng's
/// simplified API gives for the same file (`PNGFastPathTests` compares the two on every filter
/// and kind, and on 65,536 random colours).
///
/// It returns nil for every other file and for any file with anything wrong in it (a bad CRC, a
/// truncated or over-long stream, an unknown chunk, a bad filter byte), so that libpng decodes it
/// or names the fault: this path never reports an error of its own.
///
/// Why it exists: classifying a 12-megapixel RGB photo spent ~106 ms in libpng's streaming zlib
/// inflate, ~28 ms in its byte-at-a-time Sub unfilter and ~25 ms converting to gray (`perf` on
/// `digits classify --threads 1` of such photos, Zen 3), against ~20 ms for all of our own work;
/// `bench --only photo` times this path and libpng's on such a photo, and libdeflate's inflate of
/// its image data against zlib's (40 against 83 ms, Zen 3). The page faults on its fresh buffers
/// were the next cost: see `LargeBuffer`.
package enum EightBitPNGDecoder {
    /// Decodes `file`, or returns nil when libpng must (see the type's documentation).
    package static func decode(_ file: UnsafeRawBufferPointer) -> GrayAlphaImage? {
        guard let layout = Layout(file) else { return nil }
        let (width, height, channels) = (layout.width, layout.height, layout.channels)
        let rowBytes = width * channels
        let rawCount = height * (rowBytes + 1)   // each row: its filter byte, then its samples

        var raw = [UInt8](unsafeUninitializedCapacity: rawCount) { buffer, initialized in
            LargeBuffer.preferHugePages(UnsafeMutableRawBufferPointer(buffer))
            initialized = inflate(layout.dataChunks, in: file, into: buffer) ? rawCount : 0
        }
        guard !raw.isEmpty else { return nil }

        let pixels = width * height
        let hasAlpha = channels == 2 || channels == 4
        var gray = LargeBuffer.uninitializedFloats(pixels)
        var alpha = hasAlpha ? LargeBuffer.uninitializedFloats(pixels) : nil
        let converted = raw.withUnsafeMutableBufferPointer { raw in
            gray.withUnsafeMutableBufferPointer { gray in
                withOptionalBuffer(&alpha) { alpha in
                    let zeroRow = UnsafeMutablePointer<UInt8>.allocate(capacity: rowBytes)
                    zeroRow.initialize(repeating: 0, count: rowBytes)
                    defer { zeroRow.deallocate() }
                    let conversion = channels >= 3 ? LuminanceConversion.shared : nil
                    for y in 0..<height {
                        let row = raw.baseAddress! + y * (rowBytes + 1) + 1
                        let above = y == 0 ? UnsafePointer(zeroRow) : UnsafePointer(row - (rowBytes + 1))
                        guard unfilter(row, above: above, filter: row[-1], count: rowBytes, bytesPerPixel: channels) else {
                            return false
                        }
                        let grayRow = gray.baseAddress! + y * width
                        let alphaRow = alpha.map { $0.baseAddress! + y * width }
                        if let conversion {
                            conversion.convert(row, pixels: width, channels: channels, gray: grayRow, alpha: alphaRow)
                        } else {
                            EightBitLevels.convert(row, stride: channels, count: width, into: grayRow)
                            if let alphaRow { EightBitLevels.convert(row + 1, stride: 2, count: width, into: alphaRow) }
                        }
                    }
                    return true
                }
            }
        }
        return converted ? GrayAlphaImage(width: width, height: height, gray: gray, alpha: alpha) : nil
    }

    /// Inflates the zlib stream that `chunks` (byte ranges of `file`) hold, in order, into
    /// `output`, which it must fill exactly. False on any fault, including a wrong Adler-32 (which
    /// libpng, told not to check it, would accept: it then decodes that file).
    private static func inflate(_ chunks: [Range<Int>], in file: UnsafeRawBufferPointer,
                                into output: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        guard let decompressor = libdeflate_alloc_decompressor() else { return false }
        defer { libdeflate_free_decompressor(decompressor) }
        func run(_ stream: UnsafeRawBufferPointer) -> Bool {
            libdeflate_zlib_decompress(decompressor, stream.baseAddress, stream.count,
                                       output.baseAddress, output.count, nil) == LIBDEFLATE_SUCCESS
        }
        if chunks.count == 1 { return run(UnsafeRawBufferPointer(rebasing: file[chunks[0]])) }
        // Cameras and editors split the stream into many chunks: one copy joins them.
        var stream = [UInt8]()
        stream.reserveCapacity(chunks.reduce(0) { $0 + $1.count })
        for chunk in chunks { stream.append(contentsOf: UnsafeRawBufferPointer(rebasing: file[chunk])) }
        return stream.withUnsafeBytes(run)
    }

    /// Undoes PNG filter `filter` on `count` bytes of `row` in place, given the row above (already
    /// unfiltered; zeros above the first row). False for a filter byte that is not 0–4.
    @inline(__always)
    private static func unfilter(_ row: UnsafeMutablePointer<UInt8>, above: UnsafePointer<UInt8>, filter: UInt8,
                                 count: Int, bytesPerPixel bpp: Int) -> Bool {
        switch filter {
        case 0:
            return true
        case 1:   // Sub: plus the byte one pixel to the left
            unfilterSub(row, count: count, bytesPerPixel: bpp)
        case 2:   // Up: plus the byte above
            for i in 0..<count { row[i] &+= above[i] }
        case 3:   // Average: plus the mean of left and above, rounded down
            for i in 0..<min(bpp, count) { row[i] &+= above[i] >> 1 }
            var i = bpp
            while i < count { row[i] &+= UInt8((UInt16(row[i - bpp]) + UInt16(above[i])) >> 1); i += 1 }
        case 4:   // Paeth: plus whichever of left, above and above-left is nearest left + above − above-left
            for i in 0..<min(bpp, count) { row[i] &+= above[i] }   // left and above-left are 0
            var i = bpp
            while i < count {
                let (a, b, c) = (Int16(row[i - bpp]), Int16(above[i]), Int16(above[i - bpp]))
                let (pa, pb, pc) = (abs(b - c), abs(a - c), abs(a + b - 2 * c))
                row[i] &+= UInt8(pa <= pb && pa <= pc ? a : (pb <= pc ? b : c))
                i += 1
            }
        default:
            return false
        }
        return true
    }

    /// The Sub filter with the left pixel's bytes kept in registers: a chain through memory
    /// (`row[i] += row[i - bpp]`) waits for a store to reach the next load at every byte, and was
    /// half of this decoder's own time on a Sub-filtered photo (`perf annotate`).
    @inline(__always)
    private static func unfilterSub(_ row: UnsafeMutablePointer<UInt8>, count: Int, bytesPerPixel bpp: Int) {
        var i = bpp
        switch bpp {
        case 1:
            var a = row[0]
            while i < count { a &+= row[i]; row[i] = a; i += 1 }
        case 2:
            var (a, b) = (row[0], row[1])
            while i < count { a &+= row[i]; b &+= row[i + 1]; (row[i], row[i + 1]) = (a, b); i += 2 }
        case 3:
            var (a, b, c) = (row[0], row[1], row[2])
            while i < count {
                a &+= row[i]; b &+= row[i + 1]; c &+= row[i + 2]
                (row[i], row[i + 1], row[i + 2]) = (a, b, c)
                i += 3
            }
        default:   // 4: RGBA
            var (a, b, c, d) = (row[0], row[1], row[2], row[3])
            while i < count {
                a &+= row[i]; b &+= row[i + 1]; c &+= row[i + 2]; d &+= row[i + 3]
                (row[i], row[i + 1], row[i + 2], row[i + 3]) = (a, b, c, d)
                i += 4
            }
        }
    }

    /// Calls `body` with `array`'s mutable buffer, or with nil when there is no array.
    private static func withOptionalBuffer<R>(_ array: inout [Float]?,
                                              _ body: (UnsafeMutableBufferPointer<Float>?) -> R) -> R {
        guard array != nil else { return body(nil) }
        return array!.withUnsafeMutableBufferPointer { body($0) }
    }
}

extension EightBitPNGDecoder {
    /// What the chunks of a file this path can decode say: its size, its samples per pixel and
    /// where its image data lie. Nil for any other file. (`bench --only photo` reads a photo's image
    /// data through it, to time the inflate alone.)
    package struct Layout {
        package let width: Int
        package let height: Int
        /// 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
        package let channels: Int
        /// The IDAT chunks' data, as byte ranges of the file, in order.
        package let dataChunks: [Range<Int>]

        /// Ancillary chunks that cannot change the decoded levels of any image: text, time,
        /// physical pixel size, background colour (used only when compositing, which this decoder's
        /// caller does itself) and sRGB, which states what libpng assumes without it (the tests
        /// check that libpng's levels are the same with and without it). A gAMA chunk is harmless
        /// when it states 0.45455, the gamma libpng assumes without one (cameras and browsers
        /// write it beside sRGB). Any other chunk, other gammas, cHRM and iCCP among them, sends
        /// the file to libpng.
        private static let harmless: Set<UInt32> = Set(["tEXt", "zTXt", "iTXt", "tIME", "pHYs", "bKGD", "sRGB"].map(fourCC))
        private static let (ihdr, idat, iend, gama) = (fourCC("IHDR"), fourCC("IDAT"), fourCC("IEND"), fourCC("gAMA"))

        package init?(_ file: UnsafeRawBufferPointer) {
            let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
            guard file.count >= 8 + 25 + 12, file.prefix(8).elementsEqual(signature) else { return nil }
            func uint32(_ offset: Int) -> UInt32 { file.loadUnaligned(fromByteOffset: offset, as: UInt32.self).bigEndian }

            // IHDR: first, 13 bytes, 8-bit gray / RGB / gray + alpha / RGBA, no interlacing.
            guard uint32(8) == 13, uint32(12) == Self.ihdr, Self.crcMatches(file, chunkAt: 8, length: 13) else { return nil }
            let (width, height) = (Int(uint32(16)), Int(uint32(20)))
            let (bitDepth, colorType, compression, filterMethod, interlace) = (file[24], file[25], file[26], file[27], file[28])
            let channels: Int
            switch colorType {
            case 0: channels = 1
            case 4: channels = 2
            case 2: channels = 3
            case 6: channels = 4
            default: return nil   // palette, or not a colour type
            }
            guard bitDepth == 8, compression == 0, filterMethod == 0, interlace == 0,
                  width > 0, height > 0, width <= PNGDecoder.maximumDimension, height <= PNGDecoder.maximumDimension,
                  width * height <= PNGDecoder.maximumPixels else { return nil }

            var dataChunks: [Range<Int>] = []
            var offset = 8 + 25
            var dataEnded = false
            while true {
                guard offset + 12 <= file.count else { return nil }   // no IEND
                let length = Int(uint32(offset)), type = uint32(offset + 4)
                guard length <= 0x7FFF_FFFF, length <= file.count - offset - 12 else { return nil }
                let data = offset + 8 ..< offset + 8 + length
                if type == Self.idat {
                    guard !dataEnded, Self.crcMatches(file, chunkAt: offset, length: length) else { return nil }
                    if !data.isEmpty { dataChunks.append(data) }
                } else if type == Self.iend {
                    guard length == 0, !dataChunks.isEmpty, Self.crcMatches(file, chunkAt: offset, length: 0) else { return nil }
                    break
                } else {
                    // gAMA after the data is ignored by libpng, but must still state sRGB's gamma
                    // here: nothing is decoded on a guess.
                    let harmless = type == Self.gama ? length == 4 && uint32(offset + 8) == 45_455 : Self.harmless.contains(type)
                    guard harmless else { return nil }
                    dataEnded = !dataChunks.isEmpty   // IDAT chunks must follow one another
                }
                offset = data.upperBound + 4
            }
            // A stream too short for the rows it must fill is damaged: libpng says so at once,
            // before anything is allocated for them.
            let compressed = dataChunks.reduce(0) { $0 + $1.count }
            guard compressed * PNGDecoder.maximumDeflateRatio >= height * (1 + width * channels) else { return nil }
            (self.width, self.height, self.channels, self.dataChunks) = (width, height, channels, dataChunks)
        }

        /// Whether the CRC stored after the chunk at `offset` (with `length` data bytes) is that
        /// of its type and data.
        private static func crcMatches(_ file: UnsafeRawBufferPointer, chunkAt offset: Int, length: Int) -> Bool {
            let stored = file.loadUnaligned(fromByteOffset: offset + 8 + length, as: UInt32.self).bigEndian
            return libdeflate_crc32(0, file.baseAddress! + offset + 4, length + 4) == stored
        }

        /// A chunk type's four ASCII letters as the big-endian number the file stores.
        static func fourCC(_ name: String) -> UInt32 {
            name.utf8.reduce(0) { $0 << 8 | UInt32($1) }
        }
    }
}
