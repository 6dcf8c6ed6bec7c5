/// Mean squared error over every element: L = (1/count) Σ (prediction − target)².
/// The target has the prediction's shape; dL/dprediction = 2 (prediction − target) / count.
public struct MeanSquaredError: Loss {
    public init() {}

    public func evaluate(prediction: Tensor, target: Tensor) -> (value: Float, gradient: Tensor) {
        precondition(prediction.shape == target.shape,
                     "MeanSquaredError: prediction \(prediction.shape) and target \(target.shape) differ")
        let count = prediction.count
        let scale = 2 / Float(count)
        var total = 0.0
        let gradient = Tensor(shape: prediction.shape) { grad in
            prediction.withUnsafeBufferPointer { p in
                target.withUnsafeBufferPointer { t in
                    for i in 0..<count {
                        let difference = p[i] - t[i]
                        total += Double(difference * difference)
                        grad[i] = scale * difference
                    }
                }
            }
        }
        return (Float(total / Double(count)), gradient)
    }
}
