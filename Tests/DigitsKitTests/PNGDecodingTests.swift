import Foundation
import Testing
import TestSupport
import DigitsKit
import PNGCodec
import Backprop

/// Every PNG kind decodes to known pixels; broken files give one clear error.
@Suite("PNG decoding")
struct PNGDecodingTests {
    /// sRGB encoding of a linear value in [0, 1] to 8 bits: 16-bit PNG samples are linear light.
    private func srgb8(_ linear: Double) -> Int {
        let encoded = linear <= 0.0031308 ? 12.92 * linear : 1.055 * pow(linear, 1 / 2.4) - 0.055
        return Int((encoded * 255).rounded())
    }

    @Test("Gray images of every bit depth, interlaced or not, decode to their samples",
          arguments: [1, 2, 4, 8, 16], [false, true])
    func gray(bitDepth: Int, interlaced: Bool) throws {
        let (width, height) = (11, 7)   // not multiples of 8: partial bytes and Adam7 edge passes
        let maximum = (1 << bitDepth) - 1
        let samples = (0..<(width * height)).map { ($0 * 37 + $0 / width) % (maximum + 1) }
        var encoder = PNGEncoder(width: width, height: height, colorType: .gray, bitDepth: bitDepth)
        encoder.interlaced = interlaced
        let image = try PNGDecoder.decode(encoder.encode(samples: samples))
        #expect(image.width == width && image.height == height)
        #expect(!image.hasTransparency)
        for (index, sample) in samples.enumerated() {
            let expected = bitDepth == 16 ? srgb8(Double(sample) / 65535)   // 16-bit data is treated as linear
                                          : Int((Double(sample) * 255 / Double(maximum)).rounded())
            // libpng expands low bit depths through 8-bit tables: allow 2/255.
            #expect(abs(Int((image.gray[index] * 255).rounded()) - expected) <= 2,
                    "pixel \(index): sample \(sample) of \(bitDepth) bits")
        }
    }

    @Test("Colour, palette and alpha images decode, with alpha kept for compositing",
          arguments: PNGEncoder.ColorType.allCases, [false, true])
    func colorKinds(colorType: PNGEncoder.ColorType, interlaced: Bool) throws {
        // Palettes need 2 bits for the 3 entries used below.
        for bitDepth in colorType.allowedBitDepths where bitDepth >= 8 || (colorType == .palette && bitDepth >= 2) {
            let (width, height) = (9, 5)
            let maximum = (1 << bitDepth) - 1
            // Gray-valued content (r = g = b) so the expected gray level is exact.
            let levels = (0..<(width * height)).map { $0 % 2 == 0 ? 0 : maximum }
            let alphas = (0..<(width * height)).map { $0 % 3 == 0 ? 0 : maximum }
            var encoder = PNGEncoder(width: width, height: height, colorType: colorType, bitDepth: bitDepth)
            encoder.interlaced = interlaced
            let samples: [Int]
            switch colorType {
            case .gray: samples = levels
            case .grayAlpha: samples = zip(levels, alphas).flatMap { [$0, $1] }
            case .rgb: samples = levels.flatMap { [$0, $0, $0] }
            case .rgba: samples = zip(levels, alphas).flatMap { [$0, $0, $0, $1] }
            case .palette:
                encoder.palette = [(0, 0, 0), (255, 255, 255), (0, 0, 0)]
                encoder.transparency = [255, 255, 0]   // entry 2: transparent
                samples = (0..<(width * height)).map { $0 % 3 == 0 ? 2 : ($0 % 2 == 0 ? 0 : 1) }
            }
            let image = try PNGDecoder.decode(encoder.encode(samples: samples))
            for index in 0..<(width * height) {
                let transparent = colorType == .palette ? index % 3 == 0
                    : (colorType.channels == 2 || colorType.channels == 4) && alphas[index] == 0
                #expect(image.alpha[index] == (transparent ? 0 : 1), "\(colorType) \(bitDepth)-bit alpha at \(index)")
                if !transparent {
                    let expected: Float = colorType == .palette ? (index % 2 == 0 ? 0 : 1) : (levels[index] == 0 ? 0 : 1)
                    #expect(abs(image.gray[index] - expected) < 0.01, "\(colorType) \(bitDepth)-bit gray at \(index)")
                }
            }
        }
    }

    @Test("Transparent areas become paper, not ink: black ink on a transparent canvas stays visible")
    func compositing() throws {
        // Black, opaque "ink" in the middle; the rest fully transparent.
        var encoder = PNGEncoder(width: 4, height: 4, colorType: .rgba, bitDepth: 8)
        encoder.interlaced = false
        let samples = (0..<16).flatMap { index -> [Int] in
            [5, 6, 5].contains(index) || index == 10 ? [0, 0, 0, 255] : [0, 0, 0, 0]
        }
        let image = try PNGDecoder.decode(encoder.encode(samples: samples)).compositedOverContrastingBackground()
        #expect(image.pixels[5] == 0 && image.pixels[10] == 0)   // ink stays black
        #expect(image.pixels[0] == 1 && image.pixels[15] == 1)   // transparency becomes white paper
        // White ink on a transparent canvas gets black paper instead.
        let white = (0..<16).flatMap { index -> [Int] in index == 5 ? [255, 255, 255, 255] : [255, 255, 255, 0] }
        let light = try PNGDecoder.decode(encoder.encode(samples: white)).compositedOverContrastingBackground()
        #expect(light.pixels[5] == 1 && light.pixels[0] == 0)
    }

    @Test("Broken files are rejected with a message, never a crash")
    func brokenFiles() throws {
        let valid = PNGEncoder(width: 8, height: 8, colorType: .gray, bitDepth: 8).encode(samples: Array(0..<64))
        func message(_ bytes: [UInt8]) -> String? {
            do { _ = try PNGDecoder.decode(bytes); return nil } catch { return error.description }
        }
        #expect(message([]) != nil)
        #expect(message(Array("GIF89a not a png at all".utf8))?.contains("not a valid PNG") == true)
        for length in [1, 8, 20, 33, valid.count / 2, valid.count - 13] {
            #expect(message(Array(valid.prefix(length))) != nil, "truncated to \(length) bytes")
        }
        // A flipped bit inside IDAT's compressed data breaks its CRC.
        let idat = try #require(findChunk("IDAT", in: valid))
        var badCRC = valid
        badCRC[idat + 10] ^= 0x40
        #expect(message(badCRC) != nil)
        // Valid CRC over corrupt zlib data.
        var badZlib = PNGEncoder(width: 8, height: 8, colorType: .gray, bitDepth: 8).encode(samples: Array(0..<64))
        let start = try #require(findChunk("IDAT", in: badZlib))
        let length = Int(badZlib[start - 4]) << 24 | Int(badZlib[start - 3]) << 16 | Int(badZlib[start - 2]) << 8 | Int(badZlib[start - 1])
        for i in (start + 6)..<(start + 4 + length) { badZlib[i] = 0xFF }
        fixCRC(&badZlib, chunkStart: start - 4)
        #expect(message(badZlib) != nil)
        // Thousands of random corruptions: errors or images, never a crash.
        var random = RandomGenerator(seed: 5)
        for _ in 0..<2000 {
            var bytes = valid
            bytes[random.index(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
            _ = message(bytes)
        }
    }

    @Test("The image data's Adler-32 is not recomputed (each chunk's CRC already covers the data): a wrong one still decodes")
    func adler32NotChecked() throws {
        let samples = Array(0..<64)
        var bytes = PNGEncoder(width: 8, height: 8, colorType: .gray, bitDepth: 8).encode(samples: samples)
        let idat = try #require(findChunk("IDAT", in: bytes))
        let length = Int(bytes[idat - 4]) << 24 | Int(bytes[idat - 3]) << 16 | Int(bytes[idat - 2]) << 8 | Int(bytes[idat - 1])
        // The zlib stream's last four bytes are its Adler-32; the chunk's CRC is made right again.
        bytes[idat + 4 + length - 1] ^= 0x01
        fixCRC(&bytes, chunkStart: idat - 4)
        // If this fails, libpng checks the Adler-32 again: `cpng_skip_adler32` no longer finds its
        // read structures (see Sources/CPNG/shim.h), and decoding pays for the check.
        let image = try PNGDecoder.decode(bytes)
        #expect(image.gray.map { Int(($0 * 255).rounded()) } == samples)
    }

    @Test("A 100000×100000 header is refused before any pixel memory is allocated")
    func hugeDimensions() throws {
        var bytes = PNGEncoder(width: 8, height: 8, colorType: .gray, bitDepth: 8).encode(samples: Array(0..<64))
        let ihdr = try #require(findChunk("IHDR", in: bytes))
        for (offset, byte) in [0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x86, 0xA0].enumerated() { bytes[ihdr + 4 + offset] = UInt8(byte) }
        fixCRC(&bytes, chunkStart: ihdr - 4)
        let start = Date()
        #expect(throws: PNGError.tooLarge(width: 100_000, height: 100_000)) { try PNGDecoder.decode(bytes) }
        #expect(Date().timeIntervalSince(start) < 0.5)
    }

    @Test("A tiny file declaring millions of pixels is refused at once, before libpng inflates anything")
    func decompressionBomb() throws {
        var header = [UInt8]()
        for value: UInt32 in [16_000, 2_500] { header += [24, 16, 8, 0].map { UInt8((value >> $0) & 0xFF) } }
        header += [16, 6, 0, 0, 0]   // 16-bit RGBA, the largest form
        let png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + pngChunk("IHDR", header)
            + pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + pngChunk("IEND", [])
        let clock = ContinuousClock()
        let started = clock.now
        #expect(throws: PNGError.invalid("declares 16000×2500 pixels, which \(png.count) bytes cannot hold")) {
            try PNGDecoder.decode(png)
        }
        #expect(clock.now - started < .milliseconds(100))
    }

    @Test("Only regular files are read: a FIFO named *.png is an error, not a hang")
    func fifo() throws {
        let path = temporaryDirectory() + "/pipe.png"
        #expect(mkfifo(path, 0o644) == 0)
        #expect(throws: PNGError.unreadable("is not a regular file (a FIFO, socket or device)")) {
            try PNGDecoder.decode(contentsOf: path)
        }
        #expect(throws: PNGError.unreadable("is a folder, not a file")) { try PNGDecoder.decode(contentsOf: temporaryDirectory()) }
    }
}
