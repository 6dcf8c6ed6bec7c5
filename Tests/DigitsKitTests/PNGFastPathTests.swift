import Testing
import PNGCodec
import Backprop

/// `EightBitPNGDecoder`, the fast path for 8-bit non-interlaced files, against libpng: the same
/// levels wherever it decodes, and nil (libpng decodes or rejects) for everything else.
@Suite("PNG fast path")
struct PNGFastPathTests {
    /// How many gray or alpha levels of `a` and `b` differ (a count, not the images, in failures).
    private func differences(_ a: GrayAlphaImage, _ b: GrayAlphaImage) -> Int {
        guard a.width == b.width, a.height == b.height else { return -1 }
        return zip(a.gray, b.gray).filter { $0 != $1 }.count + zip(a.alpha, b.alpha).filter { $0 != $1 }.count
    }

    /// The fast path's image, or nil when it left the file to libpng.
    private func fast(_ png: [UInt8]) -> GrayAlphaImage? {
        png.withUnsafeBytes(EightBitPNGDecoder.decode)
    }

    /// Samples for `count` pixels of `colorType`: random levels in every channel, except that one
    /// pixel in four has equal red, green and blue (libpng passes those through unweighted).
    private func randomSamples(_ count: Int, _ colorType: PNGEncoder.ColorType, _ random: inout RandomGenerator) -> [Int] {
        (0..<count).flatMap { _ -> [Int] in
            var pixel = (0..<colorType.channels).map { _ in random.index(below: 256) }
            if colorType.channels >= 3 && random.index(below: 4) == 0 { pixel[1] = pixel[0]; pixel[2] = pixel[0] }
            return pixel
        }
    }

    @Test("Every filter, kind and odd size decodes to exactly libpng's levels",
          arguments: [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]] as [[UInt8]])
    func sameAsLibpng(filters: [UInt8]) throws {
        var random = RandomGenerator(seed: 11)
        for (width, height) in [(1, 1), (1, 5), (5, 1), (33, 7), (64, 48)] {
            for colorType in [PNGEncoder.ColorType.gray, .grayAlpha, .rgb, .rgba] {
                var encoder = PNGEncoder(width: width, height: height, colorType: colorType, bitDepth: 8)
                encoder.filters = filters
                let png = encoder.encode(samples: randomSamples(width * height, colorType, &random))
                let image = try #require(fast(png), "\(colorType) \(width)×\(height) filters \(filters) went to libpng")
                let reference = try PNGDecoder.decode(png, fastPath: false)
                #expect(differences(image, reference) == 0, "\(colorType) \(width)×\(height) filters \(filters)")
                #expect((image.alpha.contains { $0 < 1 }) == reference.hasTransparency)
            }
        }
    }

    /// The sRGB chunk, and the gAMA chunk of sRGB's gamma (0.45455) that usually comes with it.
    static let sRGBChunks = [pngChunk("sRGB", [0]), pngChunk("gAMA", [0, 0, 0xB1, 0x8F])]

    @Test("Colours: 65,536 random RGB pixels and every gray give libpng's gray levels to the bit, with or without sRGB and gAMA chunks",
          arguments: [[], [sRGBChunks[0]], [sRGBChunks[1]], sRGBChunks])
    func colours(chunks: [[UInt8]]) throws {
        var random = RandomGenerator(seed: 5)
        var samples = randomSamples(256 * 255, .rgb, &random)
        samples += (0..<256).flatMap { [$0, $0, $0] }
        var encoder = PNGEncoder(width: 256, height: 256, colorType: .rgb, bitDepth: 8)
        encoder.filters = [4]
        let plain = encoder.encode(samples: samples)
        let png = inserting(chunks.flatMap { $0 }, into: plain)
        let image = try #require(fast(png))
        let reference = try PNGDecoder.decode(png, fastPath: false)
        #expect(differences(image, reference) == 0)
    }

    /// `png` with `chunk` inserted after IHDR.
    private func inserting(_ chunk: [UInt8], into png: [UInt8]) -> [UInt8] {
        Array(png[0..<33]) + chunk + Array(png[33...])
    }

    /// A random 8-bit image of `colorType` (12×9, Paeth).
    private func sample(_ colorType: PNGEncoder.ColorType) -> [UInt8] {
        var random = RandomGenerator(seed: 2)
        var encoder = PNGEncoder(width: 12, height: 9, colorType: colorType, bitDepth: 8)
        encoder.filters = [4]
        return encoder.encode(samples: randomSamples(12 * 9, colorType, &random))
    }

    @Test("Files whose levels libpng computes differently, or that it must judge, go to libpng")
    func leftToLibpng() throws {
        var interlaced = PNGEncoder(width: 5, height: 5, colorType: .gray, bitDepth: 8)
        interlaced.interlaced = true
        var palette = PNGEncoder(width: 5, height: 5, colorType: .palette, bitDepth: 8)
        palette.palette = [(0, 0, 0), (255, 255, 255)]
        var transparent = PNGEncoder(width: 5, height: 5, colorType: .rgb, bitDepth: 8)
        transparent.transparency = [0, 0, 0, 0, 0, 0]
        let others: [(String, [UInt8])] = [
            ("interlaced", interlaced.encode(samples: Array(repeating: 7, count: 25))),
            ("16-bit", PNGEncoder(width: 5, height: 5, colorType: .gray, bitDepth: 16).encode(samples: Array(repeating: 7, count: 25))),
            ("4-bit", PNGEncoder(width: 5, height: 5, colorType: .gray, bitDepth: 4).encode(samples: Array(repeating: 7, count: 25))),
            ("palette", palette.encode(samples: Array(repeating: 1, count: 25))),
            ("tRNS", transparent.encode(samples: Array(repeating: 9, count: 75))),
            ("gAMA 1.0", inserting(pngChunk("gAMA", [0, 1, 0x86, 0xA0]), into: sample(.gray))),
            ("iCCP", inserting(pngChunk("iCCP", Array("p".utf8) + [0, 0, 0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), into: sample(.rgb))),
            ("unknown chunk", inserting(pngChunk("prVt", [1, 2, 3]), into: sample(.gray))),
        ]
        for (name, png) in others {
            #expect(fast(png) == nil, "\(name) was decoded by the fast path")
            #expect(throws: Never.self, "\(name)") { try PNGDecoder.decode(png) }
        }
        // sRGB is what libpng assumes anyway, and text changes nothing: those stay fast.
        for png in [inserting(pngChunk("sRGB", [0]), into: sample(.grayAlpha)),
                    inserting(pngChunk("tEXt", Array("Title".utf8) + [0] + Array("a digit".utf8)), into: sample(.rgba))] {
            let image = try #require(fast(png))
            #expect(differences(image, try PNGDecoder.decode(png, fastPath: false)) == 0)
        }
    }

    @Test("Data split over many chunks, empty ones included, decodes as one stream")
    func splitData() throws {
        let png = sample(.rgb)
        let idat = try #require(findChunk("IDAT", in: png)) - 4
        let length = Int(png[idat]) << 24 | Int(png[idat + 1]) << 16 | Int(png[idat + 2]) << 8 | Int(png[idat + 3])
        let data = Array(png[(idat + 8)..<(idat + 8 + length)])
        var chunks = pngChunk("IDAT", [])
        for start in stride(from: 0, to: data.count, by: 7) { chunks += pngChunk("IDAT", Array(data[start..<min(start + 7, data.count)])) }
        let split = Array(png[0..<idat]) + chunks + Array(png[(idat + 12 + length)...])
        let image = try #require(fast(split))
        #expect(differences(image, try PNGDecoder.decode(png, fastPath: false)) == 0)
    }

    @Test("Damaged files go to libpng, which names the fault or (for a wrong Adler-32 only) decodes them")
    func damage() throws {
        let png = sample(.gray)
        let idat = try #require(findChunk("IDAT", in: png)) - 4
        var badCRC = png
        badCRC[idat + 9] ^= 0xFF   // a data byte, CRC not fixed
        var badData = png
        badData[idat + 10] ^= 0xFF
        fixCRC(&badData, chunkStart: idat)
        var noEnd = png
        noEnd.removeLast(12)
        var extraData = png
        extraData.insert(contentsOf: pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00]), at: png.count - 12)
        extraData.insert(contentsOf: pngChunk("tEXt", Array("a".utf8) + [0, 0x62]), at: png.count - 12)
        var dataAfterGamma = png
        dataAfterGamma.insert(contentsOf: pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00]), at: png.count - 12)
        dataAfterGamma.insert(contentsOf: Self.sRGBChunks[1], at: png.count - 12)
        // 4000×3000 8-bit RGBA declared by 70 bytes: left to libpng, which refuses it.
        let bomb = Array(png[0..<8]) + pngChunk("IHDR", [0, 0, 0x0F, 0xA0, 0, 0, 0x0B, 0xB8, 8, 6, 0, 0, 0])
            + pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + pngChunk("IEND", [])
        for (name, damaged) in [("bad CRC", badCRC), ("bad data", badData), ("no IEND", noEnd), ("IDAT after text", extraData),
                                ("IDAT after gAMA", dataAfterGamma), ("bomb", bomb)] {
            #expect(fast(damaged) == nil, "\(name) was decoded by the fast path")
        }
        #expect(throws: PNGError.self) { try PNGDecoder.decode(badCRC) }
        #expect(throws: PNGError.self) { try PNGDecoder.decode(bomb) }
    }
}
