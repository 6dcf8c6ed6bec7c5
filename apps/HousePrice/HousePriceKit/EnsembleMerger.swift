import Backprop

/// Folds K trained MLPs of the same shape into one `Network` whose output is exactly the mean
/// of theirs, so that an ensemble is stored, loaded and run like any single model.
///
/// With members `dense(F→h1), relu, [dropout], dense(h1→h2), relu, ..., dense(h→1)`:
/// the first layer stacks the members' weights (`[K·h1, F]`, all read the same input); each
/// further hidden layer is block-diagonal (`[K·h_i, K·h_{i−1}]`, member k's block in place k,
/// zeros elsewhere, so members never mix); the output layer concatenates the members' output
/// weights divided by K and averages their biases.
public enum EnsembleMerger {
    public static func merge(_ members: [Network], hidden: [Int], dropout: Float) throws -> Network {
        precondition(!members.isEmpty && members.allSatisfy { $0.layers == members[0].layers },
                     "EnsembleMerger: members must share one architecture")
        let count = members.count
        let features = members[0].inputShape[0]
        // Parameters come in (weight, bias) pairs, one pair per dense layer.
        let layers = hidden.count + 1
        var weights: [Tensor] = []
        for layer in 0..<layers {
            let memberWeights = members.map { $0.parameters[2 * layer] }
            let memberBiases = members.map { $0.parameters[2 * layer + 1] }
            let (rows, columns) = (memberWeights[0].shape[0], memberWeights[0].shape[1])
            if layer == 0 {
                weights.append(Tensor(shape: [count * rows, columns], scalars: memberWeights.flatMap(\.scalars)))
                weights.append(Tensor(shape: [count * rows], scalars: memberBiases.flatMap(\.scalars)))
            } else if layer < layers - 1 {
                var block = Tensor(shape: [count * rows, count * columns])
                for (k, weight) in memberWeights.enumerated() {
                    for r in 0..<rows {
                        for c in 0..<columns { block[k * rows + r, k * columns + c] = weight[r, c] }
                    }
                }
                weights.append(block)
                weights.append(Tensor(shape: [count * rows], scalars: memberBiases.flatMap(\.scalars)))
            } else {
                let scale = 1 / Float(count)
                weights.append(Tensor(shape: [1, count * columns], scalars: memberWeights.flatMap { $0.scalars.map { $0 * scale } }))
                weights.append(Tensor(shape: [1], scalars: [memberBiases.reduce(Float(0)) { $0 + $1.scalars[0] } * scale]))
            }
        }
        return try Network(inputShape: [features],
                           layers: HousePriceTraining.layers(features: features, hidden: hidden.map { $0 * count },
                                                             dropout: dropout),
                           weights: Network.Weights(parameters: weights))
    }
}
