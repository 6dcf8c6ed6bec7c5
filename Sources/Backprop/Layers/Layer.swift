/// One stage of a network, with an explicit forward/backward pair.
///
/// A layer caches what its backward pass needs during `forward` (its input, a mask, argmax
/// indices), so one forward pass may be in flight per layer instance. Shapes passed to
/// `outputShape` are per sample (no batch dimension); tensors passed to `forward` and `backward`
/// carry the batch as their first dimension.
public protocol Layer: AnyObject {
    /// The layer's architecture: enough to rebuild it (without its weights).
    var spec: LayerSpec { get }
    /// Trainable parameters in a fixed order (weight before bias); empty for most layers.
    var parameters: [Parameter] { get }
    /// The per-sample output shape for a per-sample input shape, or an error saying why the input
    /// does not fit this layer.
    func outputShape(forInput inputShape: [Int]) throws(ArchitectureError) -> [Int]
    /// Computes the layer's output for a batch and remembers what backward needs.
    func forward(_ input: Tensor, context: inout ExecutionContext) -> Tensor
    /// Given dLoss/dOutput for the batch of the last `forward`, adds dLoss/dParameter to every
    /// parameter's gradient and returns dLoss/dInput (nil when `needsInputGradient` is false).
    func backward(_ outputGradient: Tensor, context: ExecutionContext, needsInputGradient: Bool) -> Tensor?
}

extension Layer {
    public var parameters: [Parameter] { [] }
}

/// Why an architecture or an input shape does not fit.
public struct ArchitectureError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
