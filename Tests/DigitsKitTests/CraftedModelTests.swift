import Backprop
import Foundation
import ModelFile
import Testing
import TestSupport

/// Model files crafted by a stranger: every command refuses them with one line naming the file and
/// exit status 1, never a trap (exit 132) or a nonsense answer.
@Suite("Crafted digit model files")
struct CraftedDigitModelTests {
    /// The shipped model with one metadata entry's text changed by `change`.
    func crafted(_ key: String, _ change: (String) -> String) throws -> String {
        var file = try SafeTensorsFile.decode(try FileIO.contents(of: repositoryRoot + "/data/models/digits.safetensors"))
        let index = try #require(file.metadata.firstIndex { $0.key == key })
        file.metadata[index].value = change(file.metadata[index].value)
        let path = temporaryDirectory() + "/crafted.safetensors"
        try FileIO.writeAtomically(file.encoded(), to: path)
        return path
    }

    /// A model for 32×32 inputs that claims the matching field size: consistent, but not what the
    /// normaliser makes.
    func fieldSize32() throws -> String {
        var random = RandomGenerator(seed: 1)
        let layers: [LayerSpec] = [.conv2d(inputChannels: 1, outputChannels: 2, kernelSize: 3, stride: 1, padding: 1), .relu,
                                   .flatten, .dense(inputSize: 2 * 32 * 32, outputSize: 10)]
        let network = try Network(inputShape: [1, 32, 32], layers: layers, random: &random)
        let metadata = ModelMetadata(task: "digits", inputShape: [1, 32, 32], layers: layers,
                                     preprocessing: #"{"normalization":"mnist-style","fieldSize":32,"boxSize":20,"mean":0.13,"deviation":0.31}"#,
                                     labels: (0...9).map(String.init), provenance: Provenance(seed: 1, epochs: 0, dataSHA256: "", command: "test"))
        let path = temporaryDirectory() + "/field32.safetensors"
        try ModelFile.save(network, metadata: metadata, to: path)
        return path
    }

    func expectRefused(_ path: String, _ commands: [[String]], mentioning reason: String) throws {
        for command in commands {
            let run = try runTool("digits", command + ["--model", path])
            #expect(run.status == 1, "\(command): status \(run.status) \(run.stderr)")
            #expect(run.stdout.isEmpty, "\(command): \(run.stdout)")
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("Error: \(path): ") && lines[0].contains(reason), "\(command): \(run.stderr)")
        }
    }

    @Test("Preprocessing the normaliser cannot honour, a zero or negative deviation, duplicate labels")
    func preprocessing() throws {
        let sample = repositoryRoot + "/data/samples/0-7-gray8.png"
        let commands = [["classify", sample], ["classify", "--raw", sample], ["classify", "--json", sample],
                        ["evaluate", "--images", repositoryRoot + "/data/samples"]]
        try expectRefused(try fieldSize32(), commands, mentioning: "fieldSize 32")
        try expectRefused(try crafted("preprocessing") { $0.replacingOccurrences(of: #""deviation":0.3081"#, with: #""deviation":0"#) },
                          commands, mentioning: "deviation above 0")
        try expectRefused(try crafted("preprocessing") { $0.replacingOccurrences(of: #""deviation":0.3081"#, with: #""deviation":-1"#) },
                          commands, mentioning: "deviation above 0")
        try expectRefused(try crafted("preprocessing") { $0.replacingOccurrences(of: #""boxSize":20"#, with: #""boxSize":200"#) },
                          commands, mentioning: "boxSize 200")
        try expectRefused(try crafted("labels") { $0.replacingOccurrences(of: #""1""#, with: #""0""#) },
                          commands, mentioning: "labels")
    }

    /// The shipped model's metadata with `architecture`, and exactly the tensors that architecture
    /// names (a dense layer's [10, 4] weight and [10] bias at `denseIndex`), so that only the
    /// shapes are wrong.
    func architecture(_ text: String, denseIndex: Int) throws -> String {
        var file = try SafeTensorsFile.decode(try FileIO.contents(of: repositoryRoot + "/data/models/digits.safetensors"))
        file.metadata[file.metadata.firstIndex { $0.key == "architecture" }!].value = text
        file.tensors = [("layers.\(denseIndex).weight", Tensor(shape: [10, 4], scalars: [Float](repeating: 0.1, count: 40))),
                        ("layers.\(denseIndex).bias", Tensor(shape: [10], scalars: [Float](repeating: 0, count: 10)))]
        let path = temporaryDirectory() + "/architecture.safetensors"
        try FileIO.writeAtomically(file.encoded(), to: path)
        return path
    }

    @Test("Architectures whose shapes overflow are refused, by inspect too")
    func overflowingShapes() throws {
        let huge = 1 << 62
        let poolFirst = try architecture(#"{"inputShape":[1,\#(huge),\#(huge)],"layers":[{"type":"maxPool2d","kernelSize":2,"stride":2},{"type":"flatten"},{"type":"dense","inputSize":4,"outputSize":10}]}"#,
                                         denseIndex: 2)
        let flattenOverflow = try architecture(#"{"inputShape":[\#(1 << 30),\#(1 << 30),\#(1 << 30)],"layers":[{"type":"flatten"},{"type":"dense","inputSize":4,"outputSize":10}]}"#,
                                               denseIndex: 1)
        for path in [poolFirst, flattenOverflow] {
            for command in [["inspect", path], ["classify", repositoryRoot + "/data/samples/0-7-gray8.png", "--model", path]] {
                let run = try runTool("digits", command)
                #expect(run.status == 1, "\(command): status \(run.status) \(run.stderr)")
                #expect(run.stderr.hasPrefix("Error: \(path): ") && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
            }
        }
    }
}
