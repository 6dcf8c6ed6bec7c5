import Foundation
import Testing
import Backprop
import ModelFile

@Suite("Model files")
struct ModelFileTests {
    @Test("Save then load is bit-exact for a conv net and a dense net, metadata included")
    func roundTrip() throws {
        let directory = temporaryDirectory()
        for (model, metadata) in [try makeConvModel(), try makeDenseModel()] {
            let path = directory + "/\(metadata.task).safetensors"
            try ModelFile.save(model, metadata: metadata, to: path)
            let loaded = try ModelFile.load(contentsOf: path)
            #expect(loaded.metadata == metadata)
            #expect(loaded.network.layers == model.layers)
            #expect(loaded.network.parameterNames == model.parameterNames && loaded.network.bufferNames == model.bufferNames)
            for (a, b) in zip(loaded.network.parameters + loaded.network.buffers, model.parameters + model.buffers) {
                #expect(a.shape == b.shape && a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern))
            }
            let input = Tensor(shape: [2] + model.inputShape, scalars: (0..<(2 * model.inputShape.reduce(1, *))).map { Float($0 % 7) / 7 })
            #expect(loaded.network.predict(input) == model.predict(input))
        }
    }

    @Test("The layout is safetensors: little-endian length, 8-byte aligned data, contiguous offsets")
    func layout() throws {
        let (model, metadata) = try makeDenseModel()
        let bytes = ModelFile.encode(model, metadata: metadata).encoded()
        let length = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect((8 + length) % 8 == 0)
        let header = try JSONValue.parse(bytes[8..<(8 + length)])
        let members = try #require(header.objectMembers)
        #expect(members.first?.key == "__metadata__")
        var offset = 0
        for (name, entry) in members.dropFirst() {
            let fields = try #require(entry.objectMembers)
            #expect(fields.map(\.key) == ["dtype", "shape", "data_offsets"], "\(name)")
            guard case let .array(offsets) = fields[2].value else { Issue.record("offsets"); continue }
            #expect(offsets.first?.nonNegativeInteger == offset)
            offset = offsets.last!.nonNegativeInteger!
        }
        #expect(8 + length + offset == bytes.count)
    }

    @Test("Hostile and malformed files fail with the right error")
    func rejections() throws {
        let (model, metadata) = try makeDenseModel()
        let good = ModelFile.encode(model, metadata: metadata)
        let goodBytes = good.encoded()
        let data = Array(goodBytes[(goodBytes.count - model.parameterCount * 4)...])
        func decode(_ bytes: [UInt8]) -> ModelFileError? {
            do { _ = try ModelFile.decode(try SafeTensorsFile.decode(bytes)); return nil } catch { return error }
        }
        func header(_ tensors: String, metadata: String = "") -> String {
            "{" + (metadata.isEmpty ? "" : "\"__metadata__\":{\(metadata)},") + tensors + "}"
        }
        let weight = #""w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
        let eightBytes = [UInt8](repeating: 0, count: 8)

        #expect(decode([1, 2, 3]) == .truncated(size: 3))
        var huge = goodBytes
        huge.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 0x10])
        #expect(decode(huge) == .headerTooLarge(length: 1 << 60, maximum: SafeTensorsFile.maximumHeaderSize))
        var pastEnd = goodBytes
        pastEnd.replaceSubrange(0..<8, with: [0, 0, 1, 0, 0, 0, 0, 0])
        #expect(decode(pastEnd) == .headerPastEnd(length: 65536, fileSize: goodBytes.count))
        guard case .invalidHeader? = decode(withHeader("{\"w\": [", data: [])) else { Issue.record("bad JSON"); return }
        guard case .invalidHeader? = decode(withHeader("{\(weight),\(weight)}", data: eightBytes)) else {
            Issue.record("duplicate key accepted"); return
        }
        guard case .invalidHeader? = decode(withHeader("[1, 2]", data: [])) else { Issue.record("non-object"); return }
        var badUTF8 = withHeader(#"{"__metadata__":{"a":"x"}}"#, data: [])
        badUTF8[8 + 19] = 0xFF
        guard case .invalidHeader? = decode(badUTF8) else { Issue.record("invalid UTF-8 accepted"); return }
        #expect(decode(withHeader(#"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, data: eightBytes))
                == .unsupportedDType(name: "w", dtype: "F64"))
        #expect(decode(withHeader(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eightBytes))
                == .sizeMismatch(name: "w", reason: "shape [3] needs 12 bytes but data_offsets span 8"))
        guard case .sizeMismatch? = decode(withHeader(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: eightBytes)) else {
            Issue.record("overflowing shape accepted"); return
        }
        guard case .invalidTensorEntry? = decode(withHeader(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}"#, data: eightBytes)) else {
            Issue.record("unknown field accepted"); return
        }
        guard case .invalidTensorEntry? = decode(withHeader(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eightBytes)) else {
            Issue.record("negative extent accepted"); return
        }
        guard case .invalidOffsets? = decode(withHeader(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: eightBytes + eightBytes)) else {
            Issue.record("hole accepted"); return
        }
        guard case .invalidOffsets? = decode(withHeader(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: eightBytes + eightBytes)) else {
            Issue.record("overlap accepted"); return
        }
        guard case .invalidOffsets? = decode(withHeader(header(weight), data: eightBytes + [0, 0, 0, 0])) else {
            Issue.record("trailing bytes accepted"); return
        }
        guard case .invalidOffsets? = decode(withHeader(#"{"w":{"dtype":"F32","shape":[200],"data_offsets":[0,800]}}"#, data: eightBytes)) else {
            Issue.record("offsets past the end accepted"); return
        }
        #expect(decode(withHeader(header(weight), data: [0, 0, 0xC0, 0x7F, 0, 0, 0, 0])) == .nonFiniteValue(name: "w", index: 0))
        #expect(decode(withHeader(header(weight), data: eightBytes)) == .notABackpropFile(found: nil))

        // Metadata-level rules, on an otherwise valid file.
        func variant(_ change: (inout SafeTensorsFile) -> Void) -> ModelFileError? {
            var file = good
            change(&file)
            return decode(file.encoded())
        }
        func setMetadata(_ key: String, _ value: String) -> (inout SafeTensorsFile) -> Void {
            { file in
                if let index = file.metadata.firstIndex(where: { $0.key == key }) { file.metadata[index].value = value }
                else { file.metadata.append((key, value)) }
            }
        }
        #expect(variant(setMetadata("format_version", "2.0")) == .newerFormatVersion(found: "2.0", supported: "1.x"))
        #expect(variant(setMetadata("format_version", "1.7")) == nil)
        #expect(variant(setMetadata("format", "something-else")) == .notABackpropFile(found: "something-else"))
        #expect(variant(setMetadata("surprise", "1")) == .unknownMetadata(key: "surprise"))
        guard case .invalidMetadata(key: "architecture", _)? = variant(setMetadata("architecture", #"{"inputShape":[5],"layers":[{"type":"warp"}]}"#)) else {
            Issue.record("unknown layer type: \(String(describing: variant(setMetadata("architecture", #"{"inputShape":[5],"layers":[{"type":"warp"}]}"#))))"); return
        }
        guard case .invalidMetadata(key: "provenance", _)? = variant(setMetadata("provenance", #"{"seed":1,"seed":2}"#)) else {
            Issue.record("duplicate key in nested JSON accepted"); return
        }
        #expect(variant { $0.tensors.removeLast() } == .missingTensor("layers.2.bias"))
        #expect(variant { $0.tensors.append(("layers.9.weight", Tensor(shape: [1]))) } == .unexpectedTensor("layers.9.weight"))
        #expect(variant { $0.tensors[1].tensor = Tensor(shape: [1, 7]) } == .wrongShape(name: "layers.0.bias", expected: [7], found: [1, 7]))
        // An architecture that would need gigabytes is refused from the tensors actually present.
        #expect(variant(setMetadata("architecture", #"{"inputShape":[5],"layers":[{"type":"dense","inputSize":5,"outputSize":7},{"type":"tanh"},{"type":"dense","inputSize":7,"outputSize":1000000000}]}"#))
                == .wrongShape(name: "layers.2.weight", expected: [1_000_000_000, 7], found: [1, 7]))
        #expect(data.count == model.parameterCount * 4)
    }

    @Test("JSON parser: strictness and escapes")
    func json() throws {
        #expect(try JSONValue.parse(Array(#"{"a":"\u00e9\ud83d\ude00\n","b":[1,-2.5e3,true,null]}"#.utf8))
                == .object([("a", .string("é😀\n")), ("b", .array([.number("1"), .number("-2.5e3"), .bool(true), .null]))]))
        for bad in [#"{"a":1,"a":2}"#, #"{"a":"\ud83d"}"#, "[01]", "[1.]", #"{"a":1,}"#, "[1] x", String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "\"\u{01}\""] {
            #expect(throws: JSONError.self, "\(bad)") { try JSONValue.parse(Array(bad.utf8)) }
        }
        let text = "a\"b\\c\u{01}é"
        #expect(try JSONValue.parse(Array(JSONValue.quote(text).utf8)) == .string(text))
        // Invalid UTF-8 between escapes is still refused.
        #expect(throws: JSONError.self) { try JSONValue.parse([0x22, 0x5C, 0x6E, 0xE2, 0x82, 0x5C, 0x6E, 0x22]) }
    }

    @Test("A string of two million escapes parses in linear time (well under a second)")
    func manyEscapes() throws {
        let escaped = Array(("\"" + String(repeating: "\\n\\u00e9x", count: 1_000_000) + "\"").utf8)
        #expect(try JSONValue.parse(escaped) == .string(String(repeating: "\néx", count: 1_000_000)))
        // The fastest of three parses of each size: other tests run at the same time, and with one
        // parse each, a slow one made the linear parser look superlinear in a CI run (0.5 M escapes
        // in 15.3 ms, 2 M in 123.2 ms: 8.06×).
        let clock = ContinuousClock()
        func fastestParse(_ bytes: [UInt8]) throws -> Duration {
            var fastest = Duration.seconds(1_000)
            for _ in 0..<3 {
                let started = clock.now
                _ = try JSONValue.parse(bytes)
                fastest = min(fastest, clock.now - started)
            }
            return fastest
        }
        let elapsed = try fastestParse(escaped)
        // Linear: a quarter of the escapes takes about a quarter of the time (quadratic: a sixteenth).
        let quarter = Array(("\"" + String(repeating: "\\n\\u00e9x", count: 250_000) + "\"").utf8)
        let elapsedQuarter = try fastestParse(quarter)
        #expect(elapsed < elapsedQuarter * 8, "\(elapsed) for 2 M escapes, \(elapsedQuarter) for 0.5 M")
        #if !DEBUG
        // Sanitized debug builds run the same code several times slower.
        #expect(elapsed < .seconds(1), "\(elapsed)")
        #endif
    }

    @Test("Writing replaces the file atomically: killing the writer never leaves a torn file")
    func killDuringSave() throws {
        let executable = productsDirectory + "/save-loop"
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            Issue.record("save-loop helper not built at \(executable)")
            return
        }
        let directory = temporaryDirectory()
        let path = directory + "/model.safetensors"
        var random = RandomGenerator(seed: 9)
        var sawBothSeeds = Set<UInt64>()
        for _ in 0..<25 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = [path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            // Whatever happens below, the writer must not outlive the test.
            defer {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            _ = pipe.fileHandleForReading.availableData   // "ready": at least one save finished
            usleep(UInt32(random.index(below: 20_000)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let loaded = try ModelFile.load(contentsOf: path)
            #expect(loaded.metadata.task == "save-loop")
            sawBothSeeds.insert(loaded.metadata.provenance.seed)
        }
        #expect(sawBothSeeds.count == 2, "kills should land after both kinds of save")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != "model.safetensors" }
        // A kill mid-write can leave its hidden temporary file behind, never anything else; the next
        // writer removes those of dead writers, so at most the last kill's one is left...
        #expect(leftovers.allSatisfy { $0.hasPrefix(".model.safetensors.") && $0.hasSuffix(".tmp") }, "\(leftovers)")
        #expect(leftovers.count <= 1, "\(leftovers)")
        // ... and the next save removes it too.
        let fake = directory + "/.model.safetensors.\(Int32.max - 1).12345.tmp"
        #expect(FileManager.default.createFile(atPath: fake, contents: Data([1, 2, 3])))
        let loaded = try ModelFile.load(contentsOf: path)
        try ModelFile.save(loaded.network, metadata: loaded.metadata, to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.safetensors"])
    }
}
