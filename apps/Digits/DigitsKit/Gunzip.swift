import CZlib

/// Decompresses gzip (or zlib) data with zlib, refusing output above `limit` bytes so that a
/// small hostile file cannot expand into all of memory.
func gunzip(_ data: [UInt8], limit: Int, name: String) throws(DigitsError) -> [UInt8] {
    var stream = z_stream()
    guard czlib_inflate_init_gzip_or_zlib(&stream) == Z_OK else { throw .invalidData(file: name, reason: "zlib initialisation failed") }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var status: Int32 = Z_OK
    var input = data
    let result: String? = input.withUnsafeMutableBufferPointer { source in
        stream.next_in = source.baseAddress
        stream.avail_in = uInt(source.count)
        while status != Z_STREAM_END {
            let produced: Int = chunk.withUnsafeMutableBufferPointer { target in
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                status = inflate(&stream, Z_NO_FLUSH)
                return target.count - Int(stream.avail_out)
            }
            if status != Z_OK && status != Z_STREAM_END {
                let detail = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                return status == Z_BUF_ERROR ? "truncated gzip data" : "corrupt gzip data (\(detail))"
            }
            output.append(contentsOf: chunk[0..<produced])
            if output.count > limit { return "decompresses to more than \(limit >> 20) MB" }
            if produced == 0 && stream.avail_in == 0 && status != Z_STREAM_END { return "truncated gzip data" }
        }
        return nil
    }
    if let result { throw .invalidData(file: name, reason: result) }
    return output
}
