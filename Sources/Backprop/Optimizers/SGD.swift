/// Stochastic gradient descent with optional momentum (heavy-ball or Nesterov) and L2 weight decay,
/// following PyTorch's `torch.optim.SGD`:
///
///     g = grad + weightDecay·w
///     v = momentum·v + g                (v starts at 0, so the first v is g)
///     w −= lr · (nesterov ? g + momentum·v : v)      (w −= lr·g without momentum)
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    private var slots: OptimizerSlots

    public init(learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(learningRate >= 0 && momentum >= 0 && weightDecay >= 0, "SGD: negative hyperparameter")
        precondition(!nesterov || momentum > 0, "SGD: Nesterov needs momentum > 0")
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        slots = OptimizerSlots(names: momentum > 0 ? ["momentum"] : [])
    }

    public func step(_ parameters: [Parameter], threads: Int) {
        _ = slots.advance()
        let (lr, mu, decay, nesterov) = (learningRate, momentum, weightDecay, self.nesterov)
        for parameter in parameters {
            let count = parameter.value.count
            // Slots first: creating one reads the parameter's shape, which the update loop holds.
            let velocity = mu > 0 ? slots.pointers(for: parameter)[0] : nil
            parameter.gradient.withUnsafeBufferPointer { grad in
                parameter.value.withUnsafeMutableBufferPointer { w in
                    guard let velocity else {
                        for i in 0..<count { w[i] -= lr * (grad[i] + decay * w[i]) }
                        return
                    }
                    for i in 0..<count {
                        let g = grad[i] + decay * w[i]
                        velocity[i] = mu * velocity[i] + g
                        w[i] -= lr * (nesterov ? g + mu * velocity[i] : velocity[i])
                    }
                }
            }
        }
    }

    public var state: [String: Tensor] { slots.state }

    public func restoreState(_ state: [String: Tensor], for parameters: [Parameter]) throws(OptimizerStateError) {
        try slots.restore(state, for: parameters)
    }
}
