/// Softmax cross-entropy computed from logits: L = mean over the batch of
/// −log softmax(logits)[label] = log Σ_j e^(z_j) − z_label.
///
/// The prediction is `[batch, classes]` logits; the target is `[batch]` class indices stored as
/// Float (0, 1, 2, ...). Log-sum-exp subtracts each row's maximum first, so large logits never
/// overflow. dL/dz = (softmax(z) − onehot(label)) / batch.
public struct SoftmaxCrossEntropy: Loss {
    public init() {}

    public func evaluate(prediction: Tensor, target: Tensor) -> (value: Float, gradient: Tensor) {
        precondition(prediction.rank == 2 && target.shape == [prediction.shape[0]],
                     "SoftmaxCrossEntropy: expected logits [batch, classes] and labels [batch], "
                        + "got \(prediction.shape) and \(target.shape)")
        let (batch, classes) = (prediction.shape[0], prediction.shape[1])
        let scale = 1 / Float(batch)
        var total = 0.0
        let gradient = Tensor(shape: prediction.shape) { grad in
            prediction.withUnsafeBufferPointer { z in
                target.withUnsafeBufferPointer { labels in
                    for row in 0..<batch {
                        let label = Int(labels[row])
                        precondition(label >= 0 && label < classes && Float(label) == labels[row],
                                     "SoftmaxCrossEntropy: label \(labels[row]) is not a class index in 0..<\(classes)")
                        let logits = z.baseAddress! + row * classes
                        let out = grad.baseAddress! + row * classes
                        let (maximum, sum) = exponentiateRow(logits, into: out, count: classes)
                        total += Double(maximum + logarithm(sum) - logits[label])
                        let normaliser = scale / sum
                        for j in 0..<classes { out[j] *= normaliser }
                        out[label] -= scale
                    }
                }
            }
        }
        return (Float(total / Double(batch)), gradient)
    }
}

/// Row-wise softmax of `[batch, classes]` logits: probabilities that sum to 1 per row.
public func softmax(_ logits: Tensor) -> Tensor {
    precondition(logits.rank == 2, "softmax: expected [batch, classes], got \(logits.shape)")
    let (batch, classes) = (logits.shape[0], logits.shape[1])
    return Tensor(shape: logits.shape) { out in
        logits.withUnsafeBufferPointer { z in
            for row in 0..<batch {
                let output = out.baseAddress! + row * classes
                let sum = exponentiateRow(z.baseAddress! + row * classes, into: output, count: classes).sum
                for j in 0..<classes { output[j] /= sum }
            }
        }
    }
}

/// Writes e^(z_j − max z) for one row of logits and returns the maximum and the sum of the
/// written values: subtracting the maximum keeps every exponent ≤ 0, so nothing overflows.
@inline(__always)
private func exponentiateRow(_ logits: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                             count: Int) -> (maximum: Float, sum: Float) {
    var maximum = logits[0]
    for j in 1..<count { maximum = max(maximum, logits[j]) }
    var sum: Float = 0
    for j in 0..<count {
        output[j] = exponential(logits[j] - maximum)
        sum += output[j]
    }
    return (maximum, sum)
}
