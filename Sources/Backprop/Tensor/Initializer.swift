/// How a layer draws its initial weights. `fanIn`/`fanOut` count the inputs and outputs that each
/// weight connects: `in` and `out` for Dense, `in·kh·kw` and `out·kh·kw` for Conv2D.
public enum Initializer: String, Codable, Sendable, CaseIterable {
    /// He/Kaiming normal: N(0, 2/fanIn). Keeps activation variance through ReLU layers.
    case heNormal
    /// He/Kaiming uniform: U(±√(6/fanIn)).
    case heUniform
    /// Xavier/Glorot normal: N(0, 2/(fanIn+fanOut)). For tanh/sigmoid/linear layers.
    case xavierNormal
    /// Xavier/Glorot uniform: U(±√(6/(fanIn+fanOut))).
    case xavierUniform
    /// All zeros (biases; tests).
    case zeros

    /// A tensor of `shape` drawn from this distribution.
    public func makeTensor(shape: [Int], fanIn: Int, fanOut: Int,
                           random: inout RandomGenerator) -> Tensor {
        let count = Tensor.elementCount(shape)
        var values = [Float](repeating: 0, count: count)
        switch self {
        case .heNormal:
            let deviation = (2 / Float(fanIn)).squareRoot()
            for i in 0..<count { values[i] = deviation * random.normal() }
        case .heUniform:
            let limit = (6 / Float(fanIn)).squareRoot()
            for i in 0..<count { values[i] = random.uniform(-limit, limit) }
        case .xavierNormal:
            let deviation = (2 / Float(fanIn + fanOut)).squareRoot()
            for i in 0..<count { values[i] = deviation * random.normal() }
        case .xavierUniform:
            let limit = (6 / Float(fanIn + fanOut)).squareRoot()
            for i in 0..<count { values[i] = random.uniform(-limit, limit) }
        case .zeros:
            break
        }
        return Tensor(shape: shape, scalars: values)
    }
}
