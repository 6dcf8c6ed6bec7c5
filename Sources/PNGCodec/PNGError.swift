/// Why a PNG could not be decoded: one line a person can act on.
public enum PNGError: Error, Equatable, CustomStringConvertible {
    /// libpng refused the data (not a PNG, truncated, CRC or zlib error...), with its message.
    case invalid(String)
    /// The declared size exceeds the decoder's limits; refused before allocating pixels.
    case tooLarge(width: Int, height: Int)
    /// The file could not be read.
    case unreadable(String)

    public var description: String {
        switch self {
        case let .invalid(message): "not a valid PNG: \(message)"
        case let .tooLarge(width, height):
            "image is \(width)×\(height) pixels; the limit is \(PNGDecoder.maximumDimension) per side and "
                + "\(PNGDecoder.maximumPixels / 1_000_000) megapixels"
        case let .unreadable(reason): "cannot read: \(reason)"
        }
    }
}
