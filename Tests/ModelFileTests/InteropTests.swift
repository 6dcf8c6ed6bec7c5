import Foundation
import Testing
import Backprop
import ModelFile

/// Files cross to and from Python's `safetensors` (numpy flavour) unchanged. Needs python3 with
/// numpy and safetensors: skipped with a reason when absent, a failure under CI=true.
@Suite("Interoperability with Python safetensors")
struct InteropTests {
    /// Runs a Python snippet; nil when Python or the modules are unavailable outside CI.
    private func python(_ script: String, arguments: [String]) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            Issue.record("python failed: \(errorText)")
            return nil
        }
        return text
    }

    @Test("A file we write loads with safetensors.numpy and gives identical arrays", .enabled(if: pythonSafetensorsPresent, "python3 lacks numpy or safetensors (pip install numpy safetensors)"))
    func pythonReadsOurs() throws {
        let (model, metadata) = try makeConvModel()
        let path = temporaryDirectory() + "/ours.safetensors"
        try ModelFile.save(model, metadata: metadata, to: path)
        let script = """
        import sys, json, hashlib
        from safetensors.numpy import load_file
        from safetensors import safe_open
        arrays = load_file(sys.argv[1])
        with safe_open(sys.argv[1], framework="np") as f:
            meta = f.metadata()
        print(json.dumps({"arrays": {k: [list(v.shape), str(v.dtype), hashlib.sha256(v.astype("<f4").tobytes()).hexdigest()]
                                      for k, v in arrays.items()}, "task": meta["task"]}))
        """
        guard let output = try python(script, arguments: [path]) else { return }
        let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        #expect(result["task"] as? String == "digits")
        let arrays = result["arrays"] as! [String: [Any]]
        let names = model.parameterNames + model.bufferNames
        #expect(Set(arrays.keys) == Set(names))
        #expect(names.contains("layers.1.running_mean") && names.contains("layers.1.running_var"))
        for (name, tensor) in zip(names, model.parameters + model.buffers) {
            let entry = arrays[name]!
            #expect(entry[0] as? [Int] == tensor.shape)
            #expect(entry[1] as? String == "float32")
            var bytes: [UInt8] = []
            for value in tensor.scalars {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
            #expect(entry[2] as? String == sha256Hex(bytes), "\(name)")
        }
    }

    @Test("A file Python's safetensors writes with our names and shapes loads into our network", .enabled(if: pythonSafetensorsPresent, "python3 lacks numpy or safetensors (pip install numpy safetensors)"))
    func weReadPythons() throws {
        let (model, _) = try makeConvModel()
        let path = temporaryDirectory() + "/python.safetensors"
        let shapes = zip(model.parameterNames + model.bufferNames, model.parameters + model.buffers)
            .map { "\"\($0)\": \($1.shape)" }.joined(separator: ", ")
        let script = """
        import sys, numpy as np
        from safetensors.numpy import save_file
        shapes = {\(shapes)}
        tensors = {name: (np.arange(np.prod(shape), dtype=np.float32) * 0.01 - 1).reshape(shape)
                   for name, shape in shapes.items()}
        save_file(tensors, sys.argv[1], metadata={"written_by": "python"})
        print("ok")
        """
        guard try python(script, arguments: [path]) != nil else { return }
        let file = try SafeTensorsFile.decode(try FileIO.contents(of: path))
        #expect(file.metadataValue("written_by") == "python")
        let loaded = try ModelFile.loadWeights(from: file, into: model)
        for (name, tensor) in zip(loaded.parameterNames + loaded.bufferNames, loaded.parameters + loaded.buffers) {
            let expected = (0..<tensor.count).map { Float(Float($0) * 0.01) - 1 }
            #expect(zip(tensor.scalars, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(name)")
        }
    }

    private func sha256Hex(_ bytes: [UInt8]) -> String {
        let path = temporaryDirectory() + "/bytes"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try? process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }
}
