import Foundation
import Testing
import TestSupport

/// Where the tools find a model when not given `--model`: installed by `Tools/install.sh` and run
/// by name from another folder, trained in the current folder, or missing.
@Suite("Model lookup", .serialized)
struct ModelLookupTests {
    /// Installs the built tools into a fresh prefix with `Tools/install.sh --from` (no rebuild).
    func install() throws -> String {
        let prefix = temporaryDirectory()
        let script = Process()
        script.executableURL = URL(fileURLWithPath: repositoryRoot + "/Tools/install.sh")
        script.arguments = ["--prefix", prefix, "--from", productsDirectory]
        script.standardOutput = FileHandle.nullDevice
        try script.run()
        script.waitUntilExit()
        try #require(script.terminationStatus == 0)
        return prefix
    }

    @Test("Installed tools run by name from another folder find their shipped models and say which file they use")
    func installedTools() throws {
        let prefix = try install()
        let elsewhere = temporaryDirectory()
        let sample = repositoryRoot + "/data/samples/0-7-gray8.png"
        let classify = try runTool("digits", ["classify", sample], in: elsewhere, searchPath: prefix + "/bin:/usr/bin:/bin")
        #expect(classify.status == 0, "\(classify.stderr)")
        #expect(classify.stdout.hasPrefix("\(sample): 7 ("), "\(classify.stdout)")
        #expect(classify.stderr == "model: \(prefix)/share/backprop/models/digits.safetensors (the shipped model; --model chooses another)\n")

        let rows = elsewhere + "/houses.csv"
        write("""
            longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,ocean_proximity
            -122.23,37.88,41,880,129,322,126,8.3252,NEAR BAY

            """, to: rows)
        let predict = try runTool("house-price", ["predict", rows], in: elsewhere, searchPath: prefix + "/bin:/usr/bin:/bin")
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(predict.stdout.hasPrefix("longitude,"))
        #expect(predict.stderr.hasPrefix("model: \(prefix)/share/backprop/models/house-price.safetensors (the shipped model"))
    }

    @Test("A model in the current folder (train's default output) comes first; none anywhere is one line naming the places and --model")
    func pathRule() throws {
        let prefix = try install()
        let folder = temporaryDirectory()
        let path = prefix + "/bin:/usr/bin:/bin"
        // BACKPROP_MODELS comes before the installed folder.
        let models = temporaryDirectory()
        try FileManager.default.copyItem(atPath: repositoryRoot + "/data/models/digits.safetensors",
                                         toPath: models + "/digits.safetensors")
        let fromVariable = try runTool("digits", ["inspect"], in: folder, searchPath: path, environment: ["BACKPROP_MODELS": models])
        #expect(fromVariable.stderr == "model: \(models)/digits.safetensors (the shipped model; --model chooses another)\n")

        try FileManager.default.copyItem(atPath: repositoryRoot + "/data/models/digits.safetensors",
                                         toPath: folder + "/digits.safetensors")
        let local = try runTool("digits", ["inspect"], in: folder, searchPath: path)
        #expect(local.status == 0)
        #expect(local.stderr == "model: digits.safetensors (in this folder, where train writes it; --model chooses another)\n")

        // An explicit --model is used as given, without a note.
        let explicit = try runTool("digits", ["inspect", "digits.safetensors"], in: folder, searchPath: path)
        #expect(explicit.status == 0 && explicit.stderr.isEmpty)

        try FileManager.default.removeItem(atPath: prefix + "/share")
        try FileManager.default.removeItem(atPath: folder + "/digits.safetensors")
        let missing = try runTool("digits", ["classify", repositoryRoot + "/data/samples/0-7-gray8.png"], in: folder, searchPath: path)
        #expect(missing.status != 0)
        #expect(missing.stdout.isEmpty)
        #expect(missing.stderr == "Error: no model given and no digits.safetensors found (looked for: ./digits.safetensors, "
                + "\(prefix)/share/backprop/models/digits.safetensors); pass --model PATH, or train one\n")
    }
}
