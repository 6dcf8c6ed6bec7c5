import Foundation
import Testing
import Backprop
import ModelFile

/// Mutated model files: every case must end in a thrown `ModelFileError` or a valid model, never
/// a crash, and the reader's memory must stay within what the files justify.
@Suite("Model file fuzzing")
struct FuzzTests {
    @Test("Over 10,000 truncated, bit-flipped and hostile files never crash the reader")
    func fuzz() throws {
        let (model, metadata) = try makeConvModel()
        let valid = ModelFile.encode(model, metadata: metadata).encoded()
        let headerLength = valid[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        var random = RandomGenerator(seed: 2026)
        var cases = 0, accepted = 0
        let residentBefore = peakResidentBytes()

        func attempt(_ bytes: [UInt8]) {
            cases += 1
            do {
                let loaded = try ModelFile.decode(try SafeTensorsFile.decode(bytes))
                // Accepted files must be fully usable.
                #expect(loaded.network.weights.isFinite)
                accepted += 1
            } catch {
                // A typed error is the expected outcome.
            }
        }

        // Truncation at every length of the header region, and a sample of the data region.
        for length in 0..<(8 + headerLength + 64) { attempt(Array(valid.prefix(length))) }
        for _ in 0..<300 { attempt(Array(valid.prefix(random.index(below: valid.count)))) }
        // Random byte flips, 1-8 bytes at a time, biased towards the header.
        for _ in 0..<6000 {
            var bytes = valid
            for _ in 0..<(1 + random.index(below: 8)) {
                let inHeader = random.index(below: 4) != 0
                let position = inHeader ? random.index(below: 8 + headerLength) : random.index(below: bytes.count)
                bytes[position] ^= UInt8(1 << random.index(below: 8))
            }
            attempt(bytes)
        }
        // Hostile headers around a few bytes of data.
        let data = [UInt8](repeating: 0, count: 64)
        let hostile: [String] = [
            #"{"w":{"dtype":"F32","shape":[16],"data_offsets":[0,1000000000]}}"#,
            #"{"w":{"dtype":"F32","shape":[16],"data_offsets":[1000000000,1000000064]}}"#,
            #"{"w":{"dtype":"F32","shape":[9223372036854775807],"data_offsets":[0,64]}}"#,
            #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,64]}}"#,
            #"{"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},"v":{"dtype":"F32","shape":[8],"data_offsets":[16,48]}}"#,
            #"{"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},"w":{"dtype":"F32","shape":[8],"data_offsets":[32,64]}}"#,
            #"{"w":{"dtype":"BF16","shape":[32],"data_offsets":[0,64]}}"#,
            #"{"w":{"dtype":"I64","shape":[8],"data_offsets":[0,64]}}"#,
            #"{"w":{"dtype":"F32","shape":[16],"data_offsets":[64,0]}}"#,
            #"{"w":{"dtype":"F32","shape":16,"data_offsets":[0,64]}}"#,
            #"{"w":{"dtype":"F32","shape":[16.0],"data_offsets":[0,64]}}"#,
            #"{"w":{"dtype":"F32","shape":[16],"data_offsets":[0,64,128]}}"#,
            #"{"__metadata__":{"format":"backprop-model","format_version":"1.0","architecture":"{\"inputShape\":[100000000,100000000],\"layers\":[]}"}}"#,
            #"{"__metadata__":{"format":1}}"#,
            #"{"__metadata__":[]}"#,
            "{" + String(repeating: #""a":{"#, count: 200) + String(repeating: "}", count: 200) + "}",
        ]
        for header in hostile {
            for _ in 0..<40 {   // each also with random single-byte damage to its header
                var bytes = withHeader(header, data: data)
                if random.index(below: 2) == 0 {
                    bytes[8 + random.index(below: header.utf8.count)] = UInt8(truncatingIfNeeded: random.next())
                }
                attempt(bytes)
            }
        }
        // Random header lengths over a valid body.
        for _ in 0..<2000 {
            var bytes = valid
            let length = UInt64(random.next() >> UInt64(random.index(below: 64)))
            withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            attempt(bytes)
        }
        #expect(cases >= 10_000, "only \(cases) cases")
        #expect(accepted >= 1, "flips inside weight bytes that keep them finite must still load")
        // The whole run may not have grown peak memory by more than a few hundred files' worth.
        let growth = peakResidentBytes() - residentBefore
        #expect(growth < 256 << 20, "peak resident memory grew by \(growth) bytes")
        print("fuzz: \(cases) cases, \(accepted) accepted")
    }

    private func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}
