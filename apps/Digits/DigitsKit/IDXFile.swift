import Foundation
import ModelFile

/// MNIST's IDX format: a big-endian header (magic, then one 32-bit size per dimension) followed
/// by unsigned bytes. Images have magic 2051 and dimensions [count, rows, columns]; labels have
/// magic 2049 and one dimension [count]. Files may be gzipped (detected by their first bytes).
public enum IDXFile {
    public static let imagesMagic: UInt32 = 2051
    public static let labelsMagic: UInt32 = 2049
    /// Decompressed files above this size are refused (MNIST's largest is 47 MB).
    public static let maximumSize = 512 << 20

    /// Images `[count, rows, columns]` as bytes 0...255 (0 = background, 255 = ink).
    public struct Images {
        public let count: Int
        public let rows: Int
        public let columns: Int
        public let pixels: [UInt8]
    }

    /// Reads an images file, feeding its bytes (as stored) to `hasher`.
    public static func readImages(_ path: String, hashingInto hasher: inout SHA256) throws(DigitsError) -> Images {
        let (dimensions, body) = try read(path, magic: imagesMagic, rank: 3, hasher: &hasher)
        return Images(count: dimensions[0], rows: dimensions[1], columns: dimensions[2], pixels: body)
    }

    /// Reads a labels file, feeding its bytes (as stored) to `hasher`.
    public static func readLabels(_ path: String, hashingInto hasher: inout SHA256) throws(DigitsError) -> [UInt8] {
        try read(path, magic: labelsMagic, rank: 1, hasher: &hasher).body
    }

    /// Reads a labels file.
    public static func readLabels(_ path: String) throws(DigitsError) -> [UInt8] {
        var unused = SHA256()
        return try readLabels(path, hashingInto: &unused)
    }

    /// Parses an IDX file's bytes, checking the magic number, dimensions and exact length.
    public static func parse(_ bytes: [UInt8], magic: UInt32, rank: Int, name: String) throws(DigitsError)
        -> (dimensions: [Int], body: [UInt8]) {
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw .invalidData(file: name, reason: "\(bytes.count) bytes, too short for an IDX header")
        }
        func word(_ offset: Int) -> UInt32 {
            bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let found = word(0)
        guard found == magic else {
            let kind = magic == imagesMagic ? "images" : "labels"
            throw .invalidData(file: name, reason: "magic number \(found), expected \(magic) for IDX \(kind) (wrong file?)")
        }
        var dimensions: [Int] = []
        var total = 1
        for index in 0..<rank {
            let size = Int(word(4 + 4 * index))
            guard size > 0 else { throw .invalidData(file: name, reason: "dimension \(index) is 0") }
            dimensions.append(size)
            total = total.multipliedReportingOverflow(by: size).overflow ? Int.max : total * size
        }
        guard bytes.count - headerSize == total else {
            throw .invalidData(file: name, reason: "header declares \(dimensions.map(String.init).joined(separator: "×")) = "
                + "\(total) bytes of data but the file holds \(bytes.count - headerSize)")
        }
        return (dimensions, Array(bytes[headerSize...]))
    }

    private static func read(_ path: String, magic: UInt32, rank: Int,
                             hasher: inout SHA256) throws(DigitsError) -> (dimensions: [Int], body: [UInt8]) {
        let name = (path as NSString).lastPathComponent
        var bytes: [UInt8]
        do {
            bytes = try FileIO.contents(of: path)
        } catch {
            throw .unreadable(path: path, reason: error.reason)
        }
        hasher.update(bytes)
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
            bytes = try gunzip(bytes, limit: maximumSize, name: name)
        }
        return try parse(bytes, magic: magic, rank: rank, name: name)
    }
}
