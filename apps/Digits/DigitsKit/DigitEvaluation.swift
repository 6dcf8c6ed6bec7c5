import Backprop

/// A model's answers on labelled digits, kept per image: what `evaluate` prints (`report`, the
/// same numbers in text and JSON) and what its HTML report shows (probabilities, the confidence
/// of each answer), computed once.
public struct DigitEvaluation: Sendable {
    public let report: ClassificationReport
    /// Per image: the class probabilities (softmax of the network's outputs).
    public let probabilities: [[Float]]
    /// Per image: the most probable class.
    public let predicted: [Int]
    public let data: DigitData

    /// Runs `network` on every image of `data`.
    public init(network: Network, data: DigitData, threads: Int) {
        let outputs = softmax(network.predict(data.inputs, batchSize: 500, threads: threads))
        let classes = data.labels.count
        probabilities = (0..<data.count).map { Array(outputs.scalars[($0 * classes)..<(($0 + 1) * classes)]) }
        predicted = argmaxRows(outputs)
        report = ClassificationReport(actual: data.targets, predicted: predicted, classes: classes)
        self.data = data
    }

    /// The top probability of each image's answer.
    public var confidences: [Float] { zip(probabilities, predicted).map { $0[$1] } }

    /// The 28×28 image the network saw for image `index`, in [0, 1] (ink 1).
    public func input(_ index: Int, preprocessing: DigitPreprocessing) -> [Float] {
        let pixels = 28 * 28
        return data.inputs.scalars[(index * pixels)..<((index + 1) * pixels)].map { min(1, max(0, $0 * preprocessing.deviation + preprocessing.mean)) }
    }

    /// Reliability: the answers grouped by confidence into `bins` equal bins, with each bin's
    /// mean confidence, accuracy and size (empty bins left out).
    public func reliability(bins: Int = 10) -> [(confidence: Double, accuracy: Double, count: Int)] {
        var sums = [(confidence: Double, correct: Int, count: Int)](repeating: (0, 0, 0), count: bins)
        for (index, confidence) in confidences.enumerated() {
            let bin = min(bins - 1, Int(Double(confidence) * Double(bins)))
            sums[bin].confidence += Double(confidence)
            sums[bin].correct += predicted[index] == data.targets[index] ? 1 : 0
            sums[bin].count += 1
        }
        return sums.filter { $0.count > 0 }.map { ($0.confidence / Double($0.count), Double($0.correct) / Double($0.count), $0.count) }
    }
}

extension DigitClassifier {
    /// `evaluate`, keeping each image's probabilities.
    public func evaluateInDetail(_ data: DigitData, threads: Int = ExecutionContext.availableProcessors) -> DigitEvaluation {
        DigitEvaluation(network: network, data: data, threads: threads)
    }
}
