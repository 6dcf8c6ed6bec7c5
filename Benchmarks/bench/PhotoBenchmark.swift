import ArgumentParser
import Backprop
import CDeflate
import CZlib
import DigitsKit
import Foundation
import PNGCodec

extension Bench {
    /// A 12-megapixel phone photo of a digit (4000×3000 RGB: grey paper, a shadow across it, grain,
    /// a pen stroke), classified from its PNG bytes as `digits classify` does: decoded, normalised
    /// and run through the shipped model, on one thread. Reports milliseconds per photo.
    func benchmarkPhoto(timer: inout SampleTimer) throws {
        let classifier = try DigitClassifier(contentsOf: "data/models/digits.safetensors")
        let png = Self.syntheticPhoto(width: 4000, height: 3000)
        var label = ""
        for _ in 0..<2 { label = try classifier.classify(pngData: png, threads: 1).label }   // warm-up
        guard label == "0" else { throw ValidationError("the synthetic photo of a 0 was read as \(label)") }
        timer.measureLatency("photo_12mp_classify_1t", repetitions: quick ? 5 : 11, scale: 1e-3, unit: "ms") {
            _ = try? classifier.classify(pngData: png, threads: 1)
        }
        try benchmarkPhotoDecoding(png, timer: &timer)
    }

    /// What libdeflate (README.md, "Dependencies") buys on the same photo, each side by side with
    /// what it replaces: the whole decode to gray levels through our fast path (libdeflate) and
    /// through libpng (zlib's streaming inflate inside), and the inflate alone of the photo's image
    /// data, the same bytes into the same buffer, by libdeflate and by zlib's `uncompress`.
    func benchmarkPhotoDecoding(_ png: [UInt8], timer: inout SampleTimer) throws {
        let repetitions = quick ? 5 : 11
        for (name, fastPath) in [("photo_12mp_decode_fast_path_1t", true), ("photo_12mp_decode_libpng_1t", false)] {
            timer.measureLatency(name, repetitions: repetitions, scale: 1e-3, unit: "ms") {
                _ = try? PNGDecoder.decode(png, fastPath: fastPath)
            }
        }
        // The image data as the fast path finds it (one IDAT chunk from `PNGEncoder`), inflated
        // into what it inflates into: each row its filter byte and its samples.
        guard let layout = png.withUnsafeBytes(EightBitPNGDecoder.Layout.init), layout.dataChunks.count == 1 else {
            throw ValidationError("the synthetic photo is not one the fast path decodes from one IDAT chunk")
        }
        let stream = Array(png[layout.dataChunks[0]])
        var raw = [UInt8](repeating: 0, count: layout.height * (1 + layout.width * layout.channels))
        guard let decompressor = libdeflate_alloc_decompressor() else { throw ValidationError("libdeflate: no decompressor") }
        defer { libdeflate_free_decompressor(decompressor) }
        stream.withUnsafeBytes { stream in
            raw.withUnsafeMutableBytes { raw in
                timer.measureLatency("photo_12mp_inflate_libdeflate_1t", repetitions: repetitions, scale: 1e-3, unit: "ms") {
                    let status = libdeflate_zlib_decompress(decompressor, stream.baseAddress, stream.count,
                                                            raw.baseAddress, raw.count, nil)
                    precondition(status == LIBDEFLATE_SUCCESS, "libdeflate could not inflate the photo")
                }
                timer.measureLatency("photo_12mp_inflate_zlib_1t", repetitions: repetitions, scale: 1e-3, unit: "ms") {
                    var length = uLongf(raw.count)
                    let status = uncompress(raw.baseAddress!.assumingMemoryBound(to: Bytef.self), &length,
                                            stream.baseAddress!.assumingMemoryBound(to: Bytef.self), uLong(stream.count))
                    precondition(status == Z_OK && length == raw.count, "zlib could not inflate the photo")
                }
            }
        }
    }

    /// RGB PNG bytes of a ring (a "0") in dark pen on grey, unevenly lit paper with grain.
    static func syntheticPhoto(width: Int, height: Int) -> [UInt8] {
        var random = RandomGenerator(seed: 12)
        var samples = [Int](repeating: 0, count: width * height * 3)
        let (cx, cy, radius, pen) = (Double(width) / 2, Double(height) / 2, Double(height) / 5, Double(height) / 80)
        for y in 0..<height {
            for x in 0..<width {
                let distance = ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)).squareRoot()
                let paper = 190 - 70 * Double(x + y) / Double(width + height) + Double(random.uniform(-6, 6))
                let level = abs(distance - radius) < pen / 2 ? 40 + Double(random.uniform(-5, 5)) : paper
                let value = max(0, min(255, Int(level)))
                samples[(y * width + x) * 3] = value
                samples[(y * width + x) * 3 + 1] = value
                samples[(y * width + x) * 3 + 2] = max(0, value - 8)
            }
        }
        var encoder = PNGEncoder(width: width, height: height, colorType: .rgb, bitDepth: 8)
        encoder.filters = [1]   // Sub, as cameras' PNG exports compress photos
        return encoder.encode(samples: samples)
    }
}
