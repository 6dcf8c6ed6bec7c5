import Backprop
import Foundation

/// What `inspect` shows about a model file: task, layers with their output shapes and parameter
/// counts, labels, preprocessing, provenance and metrics.
public struct ModelReport: Sendable {
    public let loaded: ModelFile.Loaded

    public init(_ loaded: ModelFile.Loaded) { self.loaded = loaded }

    /// One dictionary per layer: index, type, description, output shape, parameter count.
    public var layers: [[String: Any]] {
        let network = loaded.network
        return network.layers.enumerated().map { index, layer in
            ["index": index, "type": layer.typeName, "description": layer.description,
             "output_shape": network.layerOutputShapes[index],
             "parameters": layer.parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) }]
        }
    }

    /// The compiled inference plan, one line per step (fused layers share a step).
    public var steps: [String] {
        loaded.network.inferenceSteps.map { step in
            "layers \(step.layers.lowerBound)" + (step.layers.count > 1 ? "-\(step.layers.upperBound - 1)" : "")
                + ": \(step)"
        }
    }

    /// Everything, as a JSON-compatible dictionary.
    public var dictionary: [String: Any] {
        let metadata = loaded.metadata
        let provenance = metadata.provenance
        let preprocessing = (try? JSONSerialization.jsonObject(with: Data(metadata.preprocessing.utf8))) ?? metadata.preprocessing
        return [
            "task": metadata.task,
            "format": "\(ModelFile.formatName) \(ModelFile.formatVersion)",
            "input_shape": metadata.inputShape,
            "layers": layers,
            "steps": steps,
            "parameters": loaded.network.parameterCount,
            "labels": metadata.labels,
            "preprocessing": preprocessing,
            "provenance": ["tool_version": provenance.toolVersion, "created": provenance.created,
                           "seed": provenance.seed, "epochs": provenance.epochs,
                           "data_sha256": provenance.dataSHA256, "command": provenance.command],
            "metrics": provenance.metrics,
        ]
    }

    /// A readable summary.
    public var text: String {
        let metadata = loaded.metadata
        let provenance = metadata.provenance
        var lines = ["task: \(metadata.task)", "input: \(metadata.inputShape)", "",
                     "  #  layer".padding(toLength: 52, withPad: " ", startingAt: 0) + "output".padding(toLength: 16, withPad: " ", startingAt: 0) + "parameters"]
        for layer in layers {
            let index = String(describing: layer["index"]!)
            let shape = "\(layer["output_shape"]!)"
            lines.append(String(repeating: " ", count: 3 - index.count) + index + "  "
                         + (layer["description"] as! String).padding(toLength: 47, withPad: " ", startingAt: 0)
                         + shape.padding(toLength: 16, withPad: " ", startingAt: 0) + "\(layer["parameters"]!)")
        }
        lines.append("total parameters: \(loaded.network.parameterCount)")
        lines.append("runs as: " + steps.joined(separator: "; "))
        if !metadata.labels.isEmpty { lines.append("labels: \(metadata.labels.joined(separator: ", "))") }
        lines += ["", "trained \(provenance.created) with Backprop \(provenance.toolVersion), seed \(provenance.seed), "
                    + "\(provenance.epochs) epochs", "data SHA-256: \(provenance.dataSHA256)"]
        if !provenance.command.isEmpty { lines.append("command: \(provenance.command)") }
        if !provenance.metrics.isEmpty {
            lines.append("metrics: " + provenance.metrics.keys.sorted().map { key in
                "\(key) \(String(format: "%.6g", provenance.metrics[key]!))"
            }.joined(separator: ", "))
        }
        lines.append("preprocessing: \(metadata.preprocessing.count > 400 ? String(metadata.preprocessing.prefix(400)) + "…" : metadata.preprocessing)")
        return lines.joined(separator: "\n")
    }
}
