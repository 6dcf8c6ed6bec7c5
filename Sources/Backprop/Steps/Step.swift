/// One stage of a compiled ``Network``: the code that actually runs for one or more layers.
///
/// ``Network`` compiles its ``LayerSpec``s into steps once, when it is built. Most layers become
/// one step each; fusion is a step of its own kind, visible in ``Network/steps``: a
/// ``ConvolutionStep`` whose epilogue applies the following ReLU and max-pool while each sample's
/// output is still in cache, a ``DenseStep`` that applies a following ReLU in place.
///
/// Every step file follows one template: a legend of the dimensions, the fast `forward` with
/// shape comments, `backward` quoting the forward line it inverts, and a naive `reference`
/// implementation beside them that the tests compare the fast code against.
///
/// A step is an immutable value. It reads its weights from the network's parameter and buffer
/// lists (its own are `parameterIndex ..<` and `bufferIndex ..<`), keeps nothing between calls, and
/// writes what backward needs into the caller's ``StepMemory``. So one network may run inference on
/// many threads at once. Shapes are per sample in `inputShape`/`outputShape`; tensors carry the
/// batch as their first dimension.
public protocol Step: Sendable, CustomStringConvertible {
    /// The layers of the architecture this step runs (indices into ``Network/layers``).
    var layers: Range<Int> { get }
    /// Per-sample shapes.
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    /// Index of the step's first parameter in ``Network/parameters`` (its parameters are consecutive).
    var parameterIndex: Int { get }
    /// How many parameters the step reads and produces gradients for.
    var parameterCount: Int { get }

    /// Inference: dropout passes values through and BatchNorm uses its running statistics.
    func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], context: ExecutionContext) -> Tensor

    /// Training: dropout drops, BatchNorm normalises with the batch's statistics, and everything
    /// backward needs is written to `memory` (reusing its arrays when their sizes fit).
    func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], memory: inout StepMemory,
                 context: inout ExecutionContext) -> Tensor

    /// Given dLoss/dOutput for the batch whose training forward filled `memory`, adds
    /// dLoss/dParameter to `gradients[parameterIndex ..< parameterIndex + parameterCount]` (`+=`)
    /// and returns dLoss/dInput (nil when `needsInputGradient` is false).
    func backward(_ outputGradient: Tensor, parameters: [Tensor], memory: StepMemory, gradients: inout [Tensor],
                  context: ExecutionContext, needsInputGradient: Bool) -> Tensor?

    /// After a training forward: updates the buffers the step owns from what it measured (BatchNorm's
    /// running statistics). Most steps have none.
    func updateBuffers(_ buffers: inout [Tensor], memory: StepMemory)

    /// Data-parallel training, on a rank with no rows in this batch (a last batch smaller than the
    /// ranks): takes the random draws and joins the sums over the ranks that the training forward
    /// would, so the random stream stays in step and the other ranks are not left waiting.
    func idleForward(context: inout ExecutionContext)

    /// As ``idleForward(context:)``, for the backward pass.
    func idleBackward(context: ExecutionContext, needsInputGradient: Bool)
}

extension Step {
    public var parameterIndex: Int { 0 }
    public var parameterCount: Int { 0 }
    public func updateBuffers(_ buffers: inout [Tensor], memory: StepMemory) {}
    public func idleForward(context: inout ExecutionContext) {}
    public func idleBackward(context: ExecutionContext, needsInputGradient: Bool) {}

    /// A step without randomness or batch statistics trains as it infers, remembering its input.
    func forwardRememberingInput(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], memory: inout StepMemory,
                                 context: ExecutionContext) -> Tensor {
        memory.input = input
        return forward(input, parameters: parameters, buffers: buffers, context: context)
    }
}

/// A BatchNorm folded into the convolution or dense layer before it, for inference: with running
/// statistics μ, σ² and γ, β, the normalisation is y = s·x + (β − s·μ) per output channel, with
/// s = γ/√(σ² + ε), so it can scale the layer's weights and shift its bias instead of being a pass
/// of its own (and the layer's ReLU and pooling epilogue still apply).
public struct FoldedBatchNorm: Sendable, Equatable {
    /// Index of γ in ``Network/parameters`` (β follows).
    public let parameterIndex: Int
    /// Index of the running mean in ``Network/buffers`` (the running variance follows).
    public let bufferIndex: Int
    public let epsilon: Float

    /// The layer's weight `[out, ...]` scaled per output channel and its bias shifted: the weights
    /// that compute BatchNorm(layer(x)) in one pass.
    func fold(weight: Tensor, bias: Tensor, parameters: [Tensor], buffers: [Tensor]) -> (weight: Tensor, bias: Tensor) {
        let (gamma, beta) = (parameters[parameterIndex].scalars, parameters[parameterIndex + 1].scalars)
        let (mean, variance) = (buffers[bufferIndex].scalars, buffers[bufferIndex + 1].scalars)
        let outputs = bias.count
        let perOutput = weight.count / outputs
        var (foldedWeight, foldedBias) = (weight, bias)
        for o in 0..<outputs {
            let scale = gamma[o] / (variance[o] + epsilon).squareRoot()
            for i in 0..<perOutput { foldedWeight.scalars[o * perOutput + i] *= scale }
            foldedBias.scalars[o] = (bias.scalars[o] - mean[o]) * scale + beta[o]
        }
        return (foldedWeight, foldedBias)
    }
}

/// What one step's training forward keeps for its backward. Each step uses the fields it needs.
public struct StepMemory: Sendable {
    /// The step's input.
    public var input = Tensor(shape: [0])
    /// The step's output (activation masks are read from it).
    public var output = Tensor(shape: [0])
    /// Max-pool argmax: per pooled output, the flat index of its maximum within its input plane.
    public var indices: [Int32] = []
    /// Dropout: per element, the factor applied (0 or 1/(1 − rate)).
    public var factors: [Float] = []
    /// BatchNorm: per feature, the batch mean, then per feature the inverse deviation 1/√(var + ε).
    public var statistics: [Float] = []
    /// BatchNorm: per feature, the batch's unbiased variance (for the running estimate).
    public var unbiasedVariance: [Float] = []
    /// Convolution with a BatchNorm epilogue: the convolution's output before normalisation.
    public var beforeNormalization = Tensor(shape: [0])
    /// Dense first layer on thermometer columns: the batch as terms of the weight table (see
    /// ``ThermometerColumns``); nil when the batch took the dense product.
    var thermometerTerms: SparseMatrix?
    /// Convolution trained through Winograd's forward: the weight transformed and packed for it
    /// (``ConvolutionStep/packWinogradWeight(_:kernels:into:)``), rebuilt each step in this storage.
    var winogradWeight: [Float] = []

    public init() {}
}

/// The per-call memory of a training pass through one ``Network``: what each step's forward
/// recorded for its backward. Owned by the caller, so a network itself is never written by a
/// forward pass; reuse one tape across batches to reuse its buffers.
public struct Tape: Sendable {
    /// One entry per step of the network that last recorded into this tape.
    public internal(set) var memories: [StepMemory] = []
    /// The batch size of the recorded pass.
    public internal(set) var batchSize = 0

    public init() {}
}

extension Array where Element: BitwiseCopyable & AdditiveArithmetic {
    /// An array of `count` elements the caller overwrites before reading (skips zero-filling
    /// scratch that a kernel writes in full, e.g. an inference pass's pooling argmax).
    static func uninitialized(count: Int) -> [Element] {
        [Element](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    /// Makes the array exactly `count` elements long, keeping its storage when it is large
    /// enough (elements it adds are zeros).
    mutating func resize(to count: Int) {
        if count < self.count {
            removeLast(self.count - count)
        } else if count > self.count {
            append(contentsOf: repeatElement(.zero, count: count - self.count))
        }
    }
}
