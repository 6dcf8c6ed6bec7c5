/// A training objective: the mean loss over a batch and its gradient with respect to the
/// network's output, computed together (the fused form is both faster and more stable).
public protocol Loss: Sendable {
    /// - Parameters:
    ///   - prediction: the network output, `[batch, ...]`.
    ///   - target: what the output should be; the layout depends on the loss.
    /// - Returns: the loss averaged over the batch and dLoss/dPrediction (same shape as `prediction`).
    func evaluate(prediction: Tensor, target: Tensor) -> (value: Float, gradient: Tensor)
}
