import Backprop

/// The digit network and how it is trained by default.
public enum DigitRecipe {
    /// conv3×3 1→32 + ReLU + max-pool 2, conv3×3 32→64 + ReLU + max-pool 2, dropout 0.25,
    /// dense 3136→128 + ReLU, dropout 0.5, dense 128→10. Padding keeps 28 → 14 → 7; about
    /// 8.5 MFLOP per image forward, a third of PyTorch's MNIST example network, for similar accuracy.
    public static let layers = layers(channels: (32, 64), hidden: 128, classes: 10)

    /// The recipe's shape with other widths and dropout rates: conv3×3 1→c1, pool, conv3×3 c1→c2,
    /// pool, dropout, dense c2·7·7→hidden, dropout, dense hidden→classes.
    public static func layers(channels: (Int, Int), hidden: Int, classes: Int,
                              dropout: (Float, Float) = (0.25, 0.5)) -> [LayerSpec] {
        [.conv2d(inputChannels: 1, outputChannels: channels.0, kernelSize: 3, stride: 1, padding: 1), .relu,
         .maxPool2d(kernelSize: 2, stride: 2),
         .conv2d(inputChannels: channels.0, outputChannels: channels.1, kernelSize: 3, stride: 1, padding: 1), .relu,
         .maxPool2d(kernelSize: 2, stride: 2), .dropout(rate: dropout.0), .flatten,
         .dense(inputSize: channels.1 * 7 * 7, outputSize: hidden), .relu, .dropout(rate: dropout.1),
         .dense(inputSize: hidden, outputSize: classes)]
    }

    public static let inputShape = [1, 28, 28]
}

/// Which digit network to train.
public enum DigitNetwork: String, Codable, CaseIterable, Sendable {
    /// The default: `DigitRecipe.layers` at half the widths (conv 16 and 32 channels) and light
    /// dropout (0.1, 0.2), so that a short run learns fast: 99.1 % of MNIST test in 3 epochs
    /// (README.md, "Time to 99 %").
    case quick
    /// `DigitRecipe.layers`: 32 and 64 channels, dropout 0.25 and 0.5.
    case compact
    /// `DigitRecipe.batchNormLayers`: the same widths with BatchNorm after every convolution and
    /// the hidden dense layer; the shipped model's network.
    case batchnorm
}

/// How training images are distorted, batch by batch.
public enum DigitAugmentationKind: String, Codable, CaseIterable, Sendable {
    /// Images as they are.
    case none
    /// Rotation, scale and shift (the classic MNIST recipe).
    case affine
    /// Also shear, one-axis stretch, elastic warp, thinner and thicker pens, blur, faint ink, noise,
    /// binarised and low-resolution scans: what real captures do to digits (see `DigitAugmentation`).
    case captures
}

extension DigitRecipe {
    /// conv3×3 1→32 + BatchNorm + ReLU + max-pool 2, conv3×3 32→64 + BatchNorm + ReLU + max-pool 2,
    /// dropout 0.25, dense 3136→128 + BatchNorm + ReLU, dropout 0.5, dense 128→`classes`.
    public static func batchNormLayers(classes: Int = 10) -> [LayerSpec] {
        [.conv2d(inputChannels: 1, outputChannels: 32, kernelSize: 3, stride: 1, padding: 1), .batchNorm(features: 32), .relu,
         .maxPool2d(kernelSize: 2, stride: 2),
         .conv2d(inputChannels: 32, outputChannels: 64, kernelSize: 3, stride: 1, padding: 1), .batchNorm(features: 64), .relu,
         .maxPool2d(kernelSize: 2, stride: 2), .dropout(rate: 0.25), .flatten,
         .dense(inputSize: 64 * 7 * 7, outputSize: 128), .batchNorm(features: 128), .relu, .dropout(rate: 0.5),
         .dense(inputSize: 128, outputSize: classes)]
    }

    /// The layers of `network` with `classes` outputs.
    public static func layers(_ network: DigitNetwork, classes: Int) -> [LayerSpec] {
        switch network {
        case .quick: layers(channels: (16, 32), hidden: 128, classes: classes, dropout: (0.1, 0.2))
        case .compact: layers(channels: (32, 64), hidden: 128, classes: classes)
        case .batchnorm: batchNormLayers(classes: classes)
        }
    }
}

/// Options of `digits train` that decide the trained weights (threads do not).
public struct DigitTrainingOptions: Codable, Equatable, Sendable {
    public var epochs = 3
    public var batchSize = 128
    /// Peak learning rate of the one-cycle schedule (AdamW).
    public var learningRate: Float = 0.006
    public var augment = DigitAugmentationKind.none
    public var network = DigitNetwork.quick
    public var seed: UInt64 = 1
    /// Shards per batch (``ShardChoice``): nil for one, or chosen at run time from the ranks.
    public var shards: Int?

    public init() {}
}
