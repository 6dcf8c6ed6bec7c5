import CPNG
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes PNG files of every kind through libpng's simplified API (`png_image`), which reports
/// errors by return code and message rather than by longjmp, so Swift can handle them: gray,
/// gray+alpha, RGB, RGBA and palette images (with tRNS transparency), 1 to 16 bits per sample,
/// interlaced or not.
///
/// Images of up to 8 bits per sample are read as 8-bit sRGB gray + alpha, which is exact.
/// 16-bit images are read as 16-bit linear gray with associated alpha, then un-premultiplied and
/// sRGB-encoded here: libpng 1.6.39 reduces interlaced 16-bit images to 8 bits wrongly (rows of
/// the later Adam7 passes repeat earlier ones, as the tests show), while its 16-bit path is
/// correct. Colour becomes gray by libpng's linear-light luminance. The declared size is checked against
/// `maximumDimension` and `maximumPixels` before any pixel memory is allocated.
///
/// 8-bit non-interlaced gray, gray + alpha, RGB and RGBA files without colour-changing chunks
/// take `EightBitPNGDecoder` first: the same levels, about twice as fast on a large photo.
public enum PNGDecoder {
    /// Largest accepted width or height.
    public static let maximumDimension = 16_384
    /// Largest accepted width × height (40 megapixels: 160 MB of 16-bit gray+alpha samples).
    public static let maximumPixels = 40_000_000
    /// Largest accepted file.
    public static let maximumFileSize = 256 << 20
    /// The most a deflate stream can expand (RFC 1951: 258 bytes per 2-bit code, bounded at 1032:1).
    static let maximumDeflateRatio = 1032

    /// Decodes a PNG held in memory.
    public static func decode(_ bytes: [UInt8]) throws(PNGError) -> GrayAlphaImage {
        try decode(bytes, fastPath: true)
    }

    /// Decodes a PNG held in memory: with `fastPath`, 8-bit non-interlaced files without colour
    /// chunks through `EightBitPNGDecoder` (the same levels, about twice as fast on large
    /// photos), everything else through libpng; without, everything through libpng (the tests
    /// compare the two).
    package static func decode(_ bytes: [UInt8], fastPath: Bool) throws(PNGError) -> GrayAlphaImage {
        guard !bytes.isEmpty else { throw .invalid("empty file") }
        if fastPath, let image = bytes.withUnsafeBytes(EightBitPNGDecoder.decode) { return image }
        // libpng reads from the caller's memory until finish_read returns, so both calls stay
        // inside one access to the bytes.
        let result: Result<GrayAlphaImage, PNGError> = bytes.withUnsafeBytes { raw in
            var image = png_image()
            image.version = cpng_version()
            guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
                return .failure(.invalid(message(&image)))
            }
            // After a successful begin_read libpng holds state that must be freed on every path.
            let (width, height) = (Int(image.width), Int(image.height))
            guard width <= maximumDimension, height <= maximumDimension, width * height <= maximumPixels else {
                png_image_free(&image)
                return .failure(.tooLarge(width: width, height: height))
            }
            // Deflate expands at most 1032 times, so a file too small to hold even the 1-bit form
            // of the image it declares is not a PNG any program wrote; without this, an 89-byte file
            // kept libpng busy for seconds and gigabytes before failing.
            let smallestData = height * (1 + (width + 7) / 8)
            guard smallestData <= raw.count * maximumDeflateRatio else {
                png_image_free(&image)
                return .failure(.invalid("declares \(width)×\(height) pixels, which \(raw.count) bytes cannot hold"))
            }
            _ = cpng_skip_adler32(&image)
            let pixels = width * height
            var gray: [Float], alpha: [Float]?
            if image.format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0 {
                // A 16-bit image: read 16-bit linear gray with associated alpha.
                image.format = UInt32(PNG_FORMAT_LINEAR_Y_ALPHA)
                var samples = [UInt16](repeating: 0, count: cpng_image_size(&image) / 2)
                let finished = samples.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
                // finish_read frees libpng's state itself, on success and on failure.
                guard finished != 0 else { return .failure(.invalid(message(&image))) }
                // Through raw buffers, each output written once (no zero-fill, no checked writes).
                let encode = sRGBFromLinear16
                var opacities = [Float](unsafeUninitializedCapacity: pixels) { opacities, initialized in
                    samples.withUnsafeBufferPointer { samples in
                        for i in 0..<pixels { opacities[i] = Float(samples[2 * i + 1]) / 65535 }
                    }
                    initialized = pixels
                }
                gray = [Float](unsafeUninitializedCapacity: pixels) { gray, initialized in
                    samples.withUnsafeBufferPointer { samples in
                        encode.withUnsafeBufferPointer { encode in
                            for i in 0..<pixels {
                                let (value, opacity) = (samples[2 * i], samples[2 * i + 1])
                                if opacity == 65535 {
                                    gray[i] = encode[Int(value)]
                                } else if opacity > 0 {
                                    // Associated alpha: the stored value is linear gray × opacity.
                                    gray[i] = sRGBEncode(min(1, Float(value) / Float(opacity)))
                                } else {
                                    gray[i] = 0
                                }
                            }
                        }
                    }
                    initialized = pixels
                }
                alpha = opacities
            } else {
                // Up to 8 bits per sample: 8-bit sRGB gray (and alpha when the file has any), exact.
                // Buffers that are written in full are not zero-filled first (a 12-megapixel photo's
                // gray is 48 MB), and an opaque image has no alpha array at all.
                let opaque = image.format & UInt32(PNG_FORMAT_FLAG_ALPHA) == 0
                image.format = opaque ? UInt32(PNG_FORMAT_GRAY) : UInt32(PNG_FORMAT_GA)
                let channels = opaque ? 1 : 2
                let size = cpng_image_size(&image)
                let samples = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                    LargeBuffer.preferHugePages(UnsafeMutableRawBufferPointer(buffer))
                    initialized = png_image_finish_read(&image, nil, buffer.baseAddress, 0, nil) != 0 ? buffer.count : 0
                }
                guard !samples.isEmpty else { return .failure(.invalid(message(&image))) }
                func channel(_ offset: Int) -> [Float] {
                    [Float](unsafeUninitializedCapacity: pixels) { values, initialized in
                        LargeBuffer.preferHugePages(UnsafeMutableRawBufferPointer(values))
                        samples.withUnsafeBufferPointer { source in
                            EightBitLevels.convert(source.baseAddress! + offset, stride: channels, count: pixels,
                                                   into: values.baseAddress!)
                        }
                        initialized = pixels
                    }
                }
                gray = channel(0)
                alpha = opaque ? nil : channel(1)
            }
            return .success(GrayAlphaImage(width: width, height: height, gray: gray, alpha: alpha))
        }
        return try result.get()
    }

    /// Reads and decodes the PNG file at `path`.
    public static func decode(contentsOf path: String) throws(PNGError) -> GrayAlphaImage {
        try decode(try fileContents(path))
    }

    /// sRGB-encoded level in [0, 1] of each 16-bit linear value.
    private static let sRGBFromLinear16: [Float] = (0...65535).map { sRGBEncode(Float($0) / 65535) }

    /// The sRGB transfer function: linear light in [0, 1] to an encoded level in [0, 1].
    static func sRGBEncode(_ linear: Float) -> Float {
        if linear >= 1 { return 1 }   // exactly: 1.055 − 0.055 rounds below 1 in Float
        return linear <= 0.0031308 ? 12.92 * linear : 1.055 * powf(linear, 1 / 2.4) - 0.055
    }

    /// libpng's message for the last failure (`char message[64]`, imported as a tuple).
    private static func message(_ image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }

    /// The bytes of the file at `path`, which must be a regular file (a FIFO, device or folder is
    /// an error, and opening never waits), refusing files above `maximumFileSize` before reading.
    public static func fileContents(_ path: String) throws(PNGError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw .unreadable("is a folder, not a file")
        default: throw .unreadable("is not a regular file (a FIFO, socket or device)")
        }
        let size = Int(status.st_size)
        guard size <= maximumFileSize else { throw .unreadable("file larger than \(maximumFileSize >> 20) MB") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + done, size - done) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            if count == 0 { break }   // the file shrank while being read; decode what is there
            done += count
        }
        return Array(bytes[0..<done])
    }
}
