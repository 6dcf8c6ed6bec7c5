/// AdamW (Loshchilov & Hutter): Adam whose weight decay shrinks the weights directly instead of
/// entering the moment estimates, as `torch.optim.AdamW`:
///
///     w −= lr·weightDecay·w,  then the Adam step on the raw gradient.
public final class AdamW: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    private var slots = OptimizerSlots(names: ["m", "v"])

    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter], threads: Int) {
        let t = slots.advance()
        for parameter in parameters {
            let buffers = slots.pointers(for: parameter)
            adamUpdate(parameter, m: buffers[0], v: buffers[1], step: t, learningRate: learningRate, threads: threads,
                       beta1: beta1, beta2: beta2, epsilon: epsilon,
                       l2Decay: 0, decoupledDecay: weightDecay)
        }
    }

    public var state: [String: Tensor] { slots.state }

    public func restoreState(_ state: [String: Tensor], for parameters: [Parameter]) throws(OptimizerStateError) {
        try slots.restore(state, for: parameters)
    }
}
