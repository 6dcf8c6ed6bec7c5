import Foundation
import Testing
import Backprop
import ModelFile

@Suite("Training checkpoints")
struct CheckpointTests {
    private func makeTrainer(seed: UInt64) throws -> (Trainer, ModelMetadata) {
        var random = RandomGenerator(seed: seed)
        let specs: [LayerSpec] = [.conv2d(inputChannels: 1, outputChannels: 3, kernelSize: 3, stride: 1, padding: 1),
                                  .batchNorm(features: 3), .relu,
                                  .maxPool2d(kernelSize: 2, stride: 2), .flatten, .dropout(rate: 0.3),
                                  .dense(inputSize: 12, outputSize: 2)]
        let network = try Network(inputShape: [1, 4, 4], layers: specs, random: &random)
        let trainer = Trainer(network: network, loss: SoftmaxCrossEntropy(), optimizer: AdamW(learningRate: 0.01),
                              configuration: TrainingConfiguration(epochs: 5, batchSize: 4,
                                                                   schedule: .cosine(warmupEpochs: 1, minimumFactor: 0.1),
                                                                   earlyStoppingPatience: 10),
                              random: random)
        let metadata = ModelMetadata(task: "test", inputShape: [1, 4, 4], layers: specs,
                                     provenance: Provenance(seed: seed, epochs: 5, dataSHA256: ""))
        return (trainer, metadata)
    }

    @Test("Resuming from a checkpoint file reproduces the weights of an uninterrupted run")
    func resume() throws {
        var dataRandom = RandomGenerator(seed: 8)
        let data = Dataset(inputs: Tensor(shape: [18, 1, 4, 4], scalars: (0..<288).map { _ in dataRandom.uniform(-1, 1) }),
                           targets: Tensor(shape: [18], scalars: (0..<18).map { Float($0 % 2) }))
        let validation = Dataset(inputs: data.inputs.slice(0..<6), targets: data.targets.slice(0..<6))

        let (straight, _) = try makeTrainer(seed: 1)
        try straight.fit(data, validation: validation)

        let path = temporaryDirectory() + "/run.checkpoint"
        let (first, metadata) = try makeTrainer(seed: 1)
        var stop = false
        try first.fit(data, validation: validation, onEpoch: { report in
            if report.epoch == 2 {
                try? TrainingCheckpoint(trainer: first, metadata: metadata, settings: #"{"recipe":1}"#).save(to: path)
                stop = true
            }
        }, shouldStop: { stop })

        let checkpoint = try TrainingCheckpoint.load(contentsOf: path)
        #expect(checkpoint.settings == #"{"recipe":1}"#)
        #expect(checkpoint.trainerState.epochsCompleted == 2)
        let (resumed, _) = try makeTrainer(seed: 99)   // a different seed: everything must come from the file
        try checkpoint.restore(into: resumed)
        let summary = try resumed.fit(data, validation: validation)
        #expect(summary.epochsCompleted == 5)
        #expect(resumed.network.weights == straight.network.weights)
    }

    @Test("Checkpoints are written at most once per interval; the newest unwritten one is written on request")
    func checkpointInterval() throws {
        let (trainer, metadata) = try makeTrainer(seed: 2)
        let directory = temporaryDirectory()
        func checkpoint(_ settings: String) -> TrainingCheckpoint {
            TrainingCheckpoint(trainer: trainer, metadata: metadata, settings: settings)
        }
        var warnings: [String] = []
        let hourly = TrainingFiles(output: directory + "/hourly.safetensors", checkpointInterval: .seconds(3600))
        hourly.save(checkpoint("first"), report: { warnings.append($0) })
        hourly.save(checkpoint("second"), report: { warnings.append($0) })
        #expect(hourly.existingCheckpoints.isEmpty)
        hourly.writePendingCheckpoint(report: { warnings.append($0) })
        #expect(try TrainingCheckpoint.load(contentsOf: hourly.checkpoints[0]).settings == "second")
        // Written once: nothing is pending any more.
        try FileManager.default.removeItem(atPath: hourly.checkpoints[0])
        hourly.writePendingCheckpoint(report: { warnings.append($0) })
        #expect(hourly.existingCheckpoints.isEmpty)

        let always = TrainingFiles(output: directory + "/always.safetensors", networks: 2, checkpointInterval: .zero)
        always.save(checkpoint("third"), network: 1, report: { warnings.append($0) })
        #expect(always.existingCheckpoints == [always.checkpoints[1]])
        #expect(try TrainingCheckpoint.load(contentsOf: always.checkpoints[1]).settings == "third")
        #expect(warnings.isEmpty)
    }
}
