/// RMSprop as in PyTorch's `torch.optim.RMSprop` (not centred):
///
///     g = grad + weightDecay·w
///     s = alpha·s + (1 − alpha)·g²                       (s starts at 0)
///     u = g / (√s + epsilon)
///     momentum > 0:  b = momentum·b + u,  w −= lr·b       otherwise  w −= lr·u
public final class RMSprop: Optimizer {
    public var learningRate: Float
    public let alpha: Float
    public let epsilon: Float
    public let momentum: Float
    public let weightDecay: Float
    private var slots: OptimizerSlots

    public init(learningRate: Float = 0.01, alpha: Float = 0.99, epsilon: Float = 1e-8,
                momentum: Float = 0, weightDecay: Float = 0) {
        precondition(learningRate >= 0 && alpha >= 0 && alpha < 1 && epsilon > 0 && momentum >= 0
                        && weightDecay >= 0, "RMSprop: hyperparameter out of range")
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.momentum = momentum
        self.weightDecay = weightDecay
        slots = OptimizerSlots(names: momentum > 0 ? ["squareAverage", "momentum"] : ["squareAverage"])
    }

    public func beginStep(parameterShapes: [[Int]]) { slots.begin(parameterShapes, optimizer: "RMSprop") }

    public func update(parameter index: Int, values w: UnsafeMutableBufferPointer<Float>,
                       gradient grad: UnsafeBufferPointer<Float>, threads: Int) {
        let (lr, alpha, eps, mu, decay) = (learningRate, alpha, epsilon, momentum, weightDecay)
        let square = slots.pointer(0, parameter: index, count: w.count)
        let velocity = mu > 0 ? slots.pointer(1, parameter: index, count: w.count) : nil
        for i in 0..<w.count {
            let g = grad[i] + decay * w[i]
            square[i] = alpha * square[i] + (1 - alpha) * g * g
            let update = g / (square[i].squareRoot() + eps)
            if let velocity {
                velocity[i] = mu * velocity[i] + update
                w[i] -= lr * velocity[i]
            } else {
                w[i] -= lr * update
            }
        }
    }

    public var state: OptimizerState { slots.state }

    public func restoreState(_ state: OptimizerState, parameterShapes: [[Int]]) throws(OptimizerStateError) {
        try slots.restore(state, parameterShapes: parameterShapes)
    }
}
