// Test helper for ModelFileTests: saves two different models to the same path, alternately,
// until killed. The test kills it at random moments and checks that the file is always one of
// the two complete models, never a torn one.
import Backprop
import ModelFile
#if canImport(Glibc)
import Glibc
#endif

guard CommandLine.arguments.count == 2 else {
    print("usage: save-loop PATH")
    exit(2)
}
let path = CommandLine.arguments[1]
var models: [(Network, ModelMetadata)] = []
for seed in [1, 2] as [UInt64] {
    var random = RandomGenerator(seed: seed)
    let specs: [LayerSpec] = [.dense(inputSize: 512, outputSize: 512), .relu, .dense(inputSize: 512, outputSize: 10)]
    let model = try Network(inputShape: [512], layers: specs, random: &random)
    models.append((model, ModelMetadata(task: "save-loop", inputShape: [512], layers: specs,
                                        provenance: Provenance(seed: seed, epochs: 0, dataSHA256: ""))))
}
var round = 0
while true {
    let (model, metadata) = models[round % 2]
    try ModelFile.save(model, metadata: metadata, to: path)
    if round == 0 {
        print("ready")
        fflush(nil)   // stdout is a pipe: without this the test would wait for a full buffer
    }
    round += 1
}
