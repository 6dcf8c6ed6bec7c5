/// Compiles an architecture into the steps that run it. The only place that decides fusion.
enum ExecutionPlan {
    /// One step per layer, except that (with `fuse`) a Conv2D directly followed by a ReLU and/or a
    /// MaxPool2D becomes one ``ConvolutionStep`` with that epilogue, and a Dense directly followed
    /// by a ReLU one ``DenseStep`` that applies it in place. Results equal running the layers one
    /// by one.
    ///
    /// In training plans (with `fuse`), a BatchNorm directly after a Conv2D runs inside the
    /// ``ConvolutionStep``, before its ReLU and max-pool (``BatchNormEpilogue``).
    ///
    /// With `foldBatchNorm` (inference plans), a BatchNorm directly after a Conv2D or Dense is folded
    /// into that step's weights, and the ReLU and max-pool after it still fuse: at inference a
    /// BatchNorm network runs as fast as one without.
    ///
    /// - Parameter shapes: per-sample input shape of every layer, then the network's output shape.
    static func compile(_ layers: [LayerSpec], shapes: [[Int]], fuse: Bool, foldBatchNorm: Bool = false) -> [any Step] {
        var steps: [any Step] = []
        var (index, parameterIndex, bufferIndex) = (0, 0, 0)
        /// The BatchNorm right after layer `index`, as folded into it, when folding.
        func folded(after index: Int) -> FoldedBatchNorm? {
            guard foldBatchNorm, index + 1 < layers.count, case let .batchNorm(_, _, epsilon) = layers[index + 1] else {
                return nil
            }
            return FoldedBatchNorm(parameterIndex: parameterIndex + layers[index].parameterShapes.count,
                                   bufferIndex: bufferIndex, epsilon: epsilon)
        }
        while index < layers.count {
            var end = index + 1
            let inputShape = shapes[index]
            switch layers[index] {
            case let .conv2d(inputChannels, outputChannels, kernelSize, stride, padding):
                let normalization = folded(after: index)
                if normalization != nil { end += 1 }
                // Training plans run a BatchNorm right after the convolution inside it.
                var batchNorm: BatchNormEpilogue?
                if fuse, !foldBatchNorm, end < layers.count, case let .batchNorm(_, momentum, epsilon) = layers[end] {
                    batchNorm = BatchNormEpilogue(parameterIndex: parameterIndex + layers[index].parameterShapes.count,
                                                  bufferIndex: bufferIndex, momentum: momentum, epsilon: epsilon)
                    end += 1
                }
                var relu = false
                var pool: (kernelSize: Int, stride: Int)?
                if fuse, end < layers.count, layers[end] == .relu {
                    relu = true
                    end += 1
                }
                if fuse, end < layers.count, case let .maxPool2d(poolSize, poolStride) = layers[end] {
                    pool = (poolSize, poolStride)
                    end += 1
                }
                steps.append(ConvolutionStep(
                    layers: index..<end, inputShape: inputShape, outputShape: shapes[end], parameterIndex: parameterIndex,
                    inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize, stride: stride,
                    padding: padding, relu: relu, pool: pool, normalization: normalization, batchNorm: batchNorm))
            case let .dense(inputSize, outputSize):
                let normalization = folded(after: index)
                if normalization != nil { end += 1 }
                let relu = fuse && end < layers.count && layers[end] == .relu
                if relu { end += 1 }
                steps.append(DenseStep(layers: index..<end, inputShape: inputShape, outputShape: shapes[end],
                                       parameterIndex: parameterIndex, inputSize: inputSize, outputSize: outputSize,
                                       relu: relu, normalization: normalization))
            case let .maxPool2d(kernelSize, stride):
                steps.append(MaxPoolStep(layers: index..<end, inputShape: inputShape, outputShape: shapes[end],
                                         kernelSize: kernelSize, stride: stride))
            case .flatten:
                steps.append(FlattenStep(layers: index..<end, inputShape: inputShape, outputShape: shapes[end]))
            case let .dropout(rate):
                steps.append(DropoutStep(layers: index..<end, inputShape: inputShape, rate: rate))
            case .relu:
                steps.append(ActivationStep(layers: index..<end, inputShape: inputShape, function: .relu))
            case let .leakyRelu(slope):
                steps.append(ActivationStep(layers: index..<end, inputShape: inputShape, function: .leakyRelu(slope: slope)))
            case .sigmoid:
                steps.append(ActivationStep(layers: index..<end, inputShape: inputShape, function: .sigmoid))
            case .tanh:
                steps.append(ActivationStep(layers: index..<end, inputShape: inputShape, function: .tanh))
            case let .batchNorm(features, momentum, epsilon):
                steps.append(BatchNormStep(layers: index..<end, inputShape: inputShape, parameterIndex: parameterIndex,
                                           bufferIndex: bufferIndex, features: features, momentum: momentum,
                                           epsilon: epsilon))
            }
            for layer in layers[index..<end] {
                parameterIndex += layer.parameterShapes.count
                bufferIndex += layer.bufferShapes.count
            }
            index = end
        }
        return steps
    }
}
