/// Index of the first byte of the chunk type `type` in a PNG (its data starts 4 bytes later).
func findChunk(_ type: String, in bytes: [UInt8]) -> Int? {
    let pattern = Array(type.utf8)
    return (8..<(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == pattern }
}

/// Recomputes the CRC of the PNG chunk whose length field starts at `chunkStart`, so that a test
/// can damage a chunk's contents without also tripping its checksum.
func fixCRC(_ bytes: inout [UInt8], chunkStart: Int) {
    let length = Int(bytes[chunkStart]) << 24 | Int(bytes[chunkStart + 1]) << 16 | Int(bytes[chunkStart + 2]) << 8 | Int(bytes[chunkStart + 3])
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes[(chunkStart + 4)..<(chunkStart + 8 + length)] {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    crc ^= 0xFFFF_FFFF
    let end = chunkStart + 8 + length
    bytes[end] = UInt8(crc >> 24)
    bytes[end + 1] = UInt8(crc >> 16 & 0xFF)
    bytes[end + 2] = UInt8(crc >> 8 & 0xFF)
    bytes[end + 3] = UInt8(crc & 0xFF)
}

/// A PNG chunk: length, type, data, CRC-32 of type and data.
func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    var bytes = [24, 16, 8, 0].map { UInt8((UInt32(data.count) >> $0) & 0xFF) } + Array(type.utf8) + data + [0, 0, 0, 0]
    fixCRC(&bytes, chunkStart: 0)
    return bytes
}
