import CPNG

/// Decodes PNG files of every kind through libpng's simplified API (`png_image`), which reports
/// errors by return code and message rather than by longjmp, so Swift can handle them: gray,
/// gray+alpha, RGB, RGBA and palette images (with tRNS transparency), 1 to 16 bits per sample,
/// interlaced or not.
///
/// Colour is converted to gray by libpng (linear-light luminance, sRGB-encoded); 16-bit samples
/// are reduced to 8 bits with the same sRGB encoding. The declared size is checked against
/// `maximumDimension` and `maximumPixels` before any pixel memory is allocated.
public enum PNGDecoder {
    /// Largest accepted width or height.
    public static let maximumDimension = 16_384
    /// Largest accepted width × height (64 megapixels; 128 MB of gray+alpha samples).
    public static let maximumPixels = 64_000_000
    /// Largest accepted file.
    public static let maximumFileSize = 256 << 20

    /// Decodes a PNG held in memory.
    public static func decode(_ bytes: [UInt8]) throws(PNGError) -> GrayAlphaImage {
        guard !bytes.isEmpty else { throw .invalid("empty file") }
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
            image.format = UInt32(PNG_FORMAT_GA)
            var samples = [UInt8](repeating: 0, count: cpng_image_size(&image))
            let finished = samples.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
            // finish_read frees libpng's state itself, on success and on failure.
            guard finished != 0 else { return .failure(.invalid(message(&image))) }
            var gray = [Float](repeating: 0, count: width * height)
            var alpha = [Float](repeating: 0, count: width * height)
            for i in 0..<(width * height) {
                gray[i] = Float(samples[2 * i]) / 255
                alpha[i] = Float(samples[2 * i + 1]) / 255
            }
            return .success(GrayAlphaImage(width: width, height: height, gray: gray, alpha: alpha))
        }
        return try result.get()
    }

    /// Reads and decodes the PNG file at `path`.
    public static func decode(contentsOf path: String) throws(PNGError) -> GrayAlphaImage {
        try decode(try readFile(path))
    }

    /// libpng's message for the last failure (`char message[64]`, imported as a tuple).
    private static func message(_ image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }

    private static func readFile(_ path: String) throws(PNGError) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw .unreadable(String(cString: strerror(errno))) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if bytes.count > maximumFileSize { throw .unreadable("file larger than \(maximumFileSize >> 20) MB") }
            if count < chunk.count {
                if ferror(file) != 0 { throw .unreadable(String(cString: strerror(errno))) }
                break
            }
        }
        return bytes
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
