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

    public func beginStep(parameterShapes: [[Int]]) { slots.begin(parameterShapes, optimizer: "SGD") }

    public func update(parameter index: Int, values w: UnsafeMutableBufferPointer<Float>,
                       gradient grad: UnsafeBufferPointer<Float>, threads: Int) {
        let (lr, mu, decay, nesterov) = (learningRate, momentum, weightDecay, self.nesterov)
        guard mu > 0 else {
            for i in 0..<w.count { w[i] -= lr * (grad[i] + decay * w[i]) }
            return
        }
        let velocity = slots.pointer(0, parameter: index, count: w.count)
        for i in 0..<w.count {
            let g = grad[i] + decay * w[i]
            velocity[i] = mu * velocity[i] + g
            w[i] -= lr * (nesterov ? g + mu * velocity[i] : velocity[i])
        }
    }

    public var state: OptimizerState { slots.state }

    public func restoreState(_ state: OptimizerState, parameterShapes: [[Int]]) throws(OptimizerStateError) {
        try slots.restore(state, parameterShapes: parameterShapes)
    }
}
