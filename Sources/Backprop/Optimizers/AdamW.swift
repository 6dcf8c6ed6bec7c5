/// AdamW (Loshchilov & Hutter): Adam whose weight decay shrinks the weights directly instead of
/// entering the moment estimates, as `torch.optim.AdamW`:
///
///     w −= lr·weightDecay·w,  then the Adam step on the raw gradient.
public final class AdamW: Optimizer {
    private var core: AdamCore

    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        core = AdamCore(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                        l2Decay: 0, decoupledDecay: weightDecay)
    }

    public var learningRate: Float {
        get { core.learningRate }
        set { core.learningRate = newValue }
    }
    public var weightDecay: Float { core.decoupledDecay }

    public func beginStep(parameterShapes: [[Int]]) { core.slots.begin(parameterShapes, optimizer: "AdamW") }

    public func update(parameter index: Int, values: UnsafeMutableBufferPointer<Float>,
                       gradient: UnsafeBufferPointer<Float>, threads: Int) {
        core.update(parameter: index, values: values, gradient: gradient, threads: threads)
    }

    public var state: OptimizerState { core.slots.state }

    public func restoreState(_ state: OptimizerState, parameterShapes: [[Int]]) throws(OptimizerStateError) {
        try core.slots.restore(state, parameterShapes: parameterShapes)
    }
}
