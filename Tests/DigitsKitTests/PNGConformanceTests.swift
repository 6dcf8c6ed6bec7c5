import Foundation
import Testing
import TestSupport
import PNGCodec
import Backprop

/// PngSuite: 26 of its valid files and all 14 corrupt ones (Tests/Fixtures/pngsuite), and its
/// coverage rebuilt from generated files (the full suite cannot be fetched here): every filter
/// type, odd sizes down to 1×1, and each corrupt-file case applied to other images.
@Suite("PNG conformance")
struct PNGConformanceTests {
    static let suiteFolder = repositoryRoot + "/Tests/Fixtures/pngsuite"

    @Test("Every PngSuite file we carry decodes at its size, interlaced ones as their plain twins")
    func realPngSuite() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.suiteFolder)
            .filter { $0.hasSuffix(".png") && !$0.hasPrefix("x") }.sorted()
        #expect(names.count == 26)
        var decoded: [String: GrayAlphaImage] = [:]
        for name in names {
            let image = try PNGDecoder.decode(contentsOf: Self.suiteFolder + "/" + name)
            let side = name.hasPrefix("s09") ? 9 : 32
            #expect(image.width == side && image.height == side, "\(name)")
            #expect(image.gray.allSatisfy { (0...1).contains($0) } && image.alpha.allSatisfy { (0...1).contains($0) })
            decoded[String(name.dropLast(4))] = image
        }
        // basiXXXX is the Adam7-interlaced version of basnXXXX: the same pixels.
        for kind in ["0g01", "0g02", "0g04", "0g08", "0g16", "2c08", "2c16", "6a08"] {
            #expect(decoded["basi" + kind] == decoded["basn" + kind], "basi\(kind) differs from basn\(kind)")
        }
        // Known pixels (first row, read with pypng). f02n0g08 has no gAMA chunk: levels / 255.
        let f02 = decoded["f02n0g08"]!.gray.prefix(8).map { ($0 * 255).rounded() }
        #expect(f02 == [127, 135, 142, 150, 157, 164, 171, 178])
        // basn0g16 is linear (gAMA 1.0), so its levels come out sRGB-encoded.
        let linear16: [Double] = [0, 2304, 4608, 6912, 9216, 11520, 13824, 16128].map { $0 / 65535 }
        for (value, level) in zip(decoded["basn0g16"]!.gray, linear16) {
            let srgb = level <= 0.0031308 ? 12.92 * level : 1.055 * pow(level, 1 / 2.4) - 0.055
            #expect(abs(Double(value) - srgb) < 1e-3, "basn0g16: \(value) for linear \(level)")
        }
        // basn0g08's first row is the ramp 0, 1, 2, ...: strictly increasing; 1-bit is black and white.
        let ramp = decoded["basn0g08"]!.gray.prefix(32)
        #expect(zip(ramp, ramp.dropFirst()).allSatisfy { $0 < $1 })
        #expect(Set(decoded["basn0g01"]!.gray) == [0, 1])
        // Alpha channels and tRNS transparency (gray, palette, RGB) come through as alpha. The
        // 16-bit alpha ramps run from 0 to 63421 (read with pypng), the 8-bit one from 0 to 255.
        for name in ["basn4a16", "basn6a16"] {
            let alpha = decoded[name]!.alpha
            #expect(alpha.min() == 0 && abs(alpha.max()! - 63421.0 / 65535) < 1e-6, "\(name): alpha max \(alpha.max()!)")
        }
        for name in ["basn6a08", "tbbn1g04", "tbgn3p08", "tbrn2c08"] {
            let alpha = decoded[name]!.alpha
            #expect(alpha.contains(0) && alpha.contains(1), "\(name): no transparent or no opaque pixels")
        }
        for name in ["basn0g08", "basn2c08", "basn3p04", "f02n0g08", "s09n3p02"] {
            #expect(!decoded[name]!.hasTransparency, "\(name)")
        }
    }


    static let sizes: [(Int, Int)] = [(1, 1), (1, 5), (5, 1), (32, 32), (33, 7)]

    @Test("All five scanline filters and odd sizes decode exactly", arguments: [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]] as [[UInt8]], [false, true])
    func filtersAndSizes(filters: [UInt8], interlaced: Bool) throws {
        var random = RandomGenerator(seed: 3)
        for (width, height) in Self.sizes {
            for (colorType, bitDepth) in [(PNGEncoder.ColorType.gray, 8), (.gray, 2), (.gray, 16), (.rgb, 8), (.grayAlpha, 8), (.rgba, 16)] {
                let maximum = (1 << bitDepth) - 1
                // Gray-valued pixels (equal channels) with random levels; opaque alpha.
                let levels = (0..<(width * height)).map { _ in random.index(below: maximum + 1) }
                let samples: [Int] = switch colorType {
                case .gray: levels
                case .rgb: levels.flatMap { [$0, $0, $0] }
                case .grayAlpha: levels.flatMap { [$0, maximum] }
                default: levels.flatMap { [$0, $0, $0, maximum] }
                }
                var encoder = PNGEncoder(width: width, height: height, colorType: colorType, bitDepth: bitDepth)
                encoder.filters = filters
                encoder.interlaced = interlaced
                let image = try PNGDecoder.decode(encoder.encode(samples: samples))
                #expect(image.width == width && image.height == height)
                for (index, level) in levels.enumerated() {
                    let expected: Double = bitDepth == 16
                        ? { let linear = Double(level) / 65535
                            return linear <= 0.0031308 ? 12.92 * linear : 1.055 * pow(linear, 1 / 2.4) - 0.055 }()
                        : Double(level) / Double(maximum)
                    #expect(abs(Double(image.gray[index]) - expected) <= 2.0 / 255,
                            "\(colorType) \(bitDepth)-bit \(width)×\(height) filters \(filters) pixel \(index)")
                }
            }
        }
    }

    @Test("PngSuite's 14 corrupt files are rejected with an error")
    func realCorruptFiles() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.suiteFolder)
            .filter { $0.hasPrefix("x") && $0.hasSuffix(".png") }.sorted()
        #expect(names.count == 14)
        for name in names {
            #expect(throws: PNGError.self, "\(name) decoded") {
                try PNGDecoder.decode(contentsOf: Self.suiteFolder + "/" + name)
            }
        }
    }

    @Test("PngSuite's corrupt-file cases are rejected with an error")
    func corruptFiles() throws {
        let valid = PNGEncoder(width: 8, height: 8, colorType: .gray, bitDepth: 8).encode(samples: Array(0..<64))
        func rejected(_ bytes: [UInt8]) -> Bool {
            (try? PNGDecoder.decode(bytes)) == nil
        }
        // Chunk offsets in `valid`: signature 0..<8, IHDR length at 8, type at 12, data at 16..<29, CRC at 29.
        var signature = valid
        signature[0] = 0x88                                           // xs1n0g01: bad signature byte
        #expect(rejected(signature))
        var crlf = valid
        crlf.replaceSubrange(4..<6, with: [0x0D, 0x0D, 0x0A])         // xcrn0g04: CR added to the signature
        #expect(rejected(crlf))
        var lf = valid
        lf.replaceSubrange(6..<7, with: [0x0D, 0x0A])                 // xlfn0g04: LF expanded to CRLF
        #expect(rejected(lf))
        var headerCRC = valid
        headerCRC[29] ^= 0xFF                                         // xhdn0g08: wrong IHDR checksum
        #expect(rejected(headerCRC))
        for (offset, value, case_) in [(25, 1, "xc1n0g08: colour type 1"), (25, 9, "xc9n2c08: colour type 9"),
                                       (24, 0, "xd0n2c08: bit depth 0"), (24, 3, "xd3n2c08: bit depth 3"),
                                       (24, 99, "xd9n2c08: bit depth 99")] {
            var bytes = valid
            bytes[offset] = UInt8(value)
            fixCRC(&bytes, chunkStart: 8)
            #expect(rejected(bytes), "\(case_)")
        }
        // xdtn0g01: no IDAT chunk at all.
        let idatLength = Int(valid[33]) << 24 | Int(valid[34]) << 16 | Int(valid[35]) << 8 | Int(valid[36])
        #expect(Array(valid[37..<41]) == Array("IDAT".utf8))
        var noData = valid
        noData.removeSubrange(33..<(33 + 12 + idatLength))
        #expect(rejected(noData))
        // xcsn0g01: wrong IDAT checksum.
        var dataCRC = valid
        dataCRC[33 + 8 + idatLength] ^= 0x01
        #expect(rejected(dataCRC))
    }
}
