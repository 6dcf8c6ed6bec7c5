import Foundation
import Testing
import TestSupport
import DigitsKit
import ModelFile
import Backprop

@Suite("Digit accuracy gates")
struct AccuracyTests {
    @Test("A seeded short training run on 15,000 MNIST images passes 97% on 2,000 test images", .enabled(if: mnistPresent, "MNIST is not in data/mnist: run data/fetch"))
    func smallTrainingRun() throws {
        let directory = repositoryRoot + "/data/mnist"
        guard try loadMNISTTest() != nil else { return }
        let mnist = MNISTDirectory(directory)
        let training = try mnist.training(DigitPreprocessing()).dataset
        let test = try mnist.test(DigitPreprocessing())
        var random = RandomGenerator(seed: 3)
        let network = try Network(inputShape: DigitRecipe.inputShape, layers: DigitRecipe.layers, random: &random)
        let trainer = Trainer(network: network, loss: SoftmaxCrossEntropy(), optimizer: AdamW(learningRate: 0.003, weightDecay: 1e-4),
                              configuration: TrainingConfiguration(epochs: 3, batchSize: 128,
                                                                   schedule: .cosine(warmupEpochs: 0.3, minimumFactor: 0.01)),
                              random: random)
        try trainer.fit(Dataset(inputs: training.inputs.slice(0..<15_000), targets: training.targets.slice(0..<15_000)))
        let subset = DigitData(inputs: test.inputs.slice(0..<2000), targets: Array(test.targets[0..<2000]), labels: test.labels)
        let accuracy = DigitTraining.evaluate(trainer.network, on: subset, threads: 2).accuracy
        #expect(accuracy >= 0.97, "accuracy \(accuracy)")
    }

    @Test("The shipped model reads user-style PNGs (every kind, 64-512 px, off-centre) at 97% or better", .enabled(if: mnistPresent, "MNIST is not in data/mnist: run data/fetch"))
    func realWorldImages() throws {
        let directory = temporaryDirectory()
        guard let count = try writeRenderedDigits(count: 550, skip: 9000, to: directory, seed: 23) else { return }
        let classifier = try DigitClassifier(contentsOf: repositoryRoot + "/data/models/digits.safetensors")
        let data = try ImageFolder(directory).load(classifier.preprocessing, labels: classifier.metadata.labels)
        #expect(data.count == count && data.skipped.isEmpty)
        let report = classifier.evaluate(data)
        #expect(report.accuracy >= 0.97, "accuracy \(report.accuracy)")
    }
}
