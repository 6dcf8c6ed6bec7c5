import Foundation
@_exported import TestSupport
import Backprop
import ModelFile

/// A small conv net with BatchNorm and its metadata, seeded; biases, BatchNorm's γ and its running
/// statistics are random too, so that no tensor is trivially 0 or 1.
func makeConvModel(seed: UInt64 = 3) throws -> (Network, ModelMetadata) {
    var random = RandomGenerator(seed: seed)
    let specs: [LayerSpec] = [
        .conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, stride: 1, padding: 1), .batchNorm(features: 4), .relu,
        .maxPool2d(kernelSize: 2, stride: 2), .flatten, .dropout(rate: 0.25),
        .dense(inputSize: 4 * 4 * 4, outputSize: 3),
    ]
    var model = try Network(inputShape: [1, 8, 8], layers: specs, random: &random)
    var weights = model.weights
    for (index, name) in model.parameterNames.enumerated() where name.hasSuffix("bias") || name == "layers.1.weight" {
        weights.parameters[index] = Tensor(shape: weights.parameters[index].shape,
                                           scalars: (0..<weights.parameters[index].count).map { _ in random.uniform(0.5, 1) })
    }
    weights.buffers = weights.buffers.map { Tensor(shape: $0.shape, scalars: (0..<$0.count).map { _ in random.uniform(0.1, 2) }) }
    model.setWeights(weights)
    let metadata = ModelMetadata(
        task: "digits", inputShape: [1, 8, 8], layers: specs,
        preprocessing: #"{"normalise":"mnist","mean":0.1307,"std":0.3081}"#, labels: ["a", "b", "c"],
        provenance: Provenance(created: "2026-11-30T00:00:00Z", seed: seed, epochs: 2, dataSHA256: "abc",
                               metrics: ["test_accuracy": 0.5], command: "digits train"))
    return (model, metadata)
}

/// A small dense regression net and its metadata, seeded.
func makeDenseModel(seed: UInt64 = 4) throws -> (Network, ModelMetadata) {
    var random = RandomGenerator(seed: seed)
    let specs: [LayerSpec] = [.dense(inputSize: 5, outputSize: 7), .tanh, .dense(inputSize: 7, outputSize: 1)]
    let model = try Network(inputShape: [5], layers: specs, random: &random)
    let metadata = ModelMetadata(task: "house-price", inputShape: [5], layers: specs,
                                 preprocessing: #"{"features":["a","b"]}"#, labels: [],
                                 provenance: Provenance(created: "2026-11-30T00:00:00Z", seed: seed, epochs: 1, dataSHA256: "def"))
    return (model, metadata)
}

/// Replaces the JSON header of a safetensors file with `header` (re-padded), keeping the data.
func withHeader(_ header: String, data: [UInt8]) -> [UInt8] {
    var headerBytes = Array(header.utf8)
    while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { bytes.append(contentsOf: $0) }
    return bytes + headerBytes + data
}

