import ArgumentParser
import Backprop
import DigitsKit

/// The networks the benchmark times, the same ones Benchmarks/pytorch_bench.py builds.
enum Architecture: String, CaseIterable, ExpressibleByArgument {
    /// PyTorch's MNIST example: conv3x3 1→32, ReLU, conv3x3 32→64, ReLU, maxpool 2, dropout 0.25,
    /// dense 9216→128, ReLU, dropout 0.5, dense 128→10.
    case cnn
    /// LeNet-5 style: conv5x5 1→6 pad 2, ReLU, maxpool 2, conv5x5 6→16, ReLU, maxpool 2,
    /// dense 400→120→84→10 with ReLU.
    case lenet
    /// 784-256-128-10 with ReLU.
    case mlp
    /// The digit app's network (apps/Digits/DigitsKit/DigitRecipe.swift), for `--profile digits`.
    case digits
    /// The default `digits train` network (the one `Benchmarks/time-to-99.sh` times), for `--profile quick`.
    case quick

    var inputShape: [Int] { self == .mlp ? [784] : [1, 28, 28] }



    var specs: [LayerSpec] {
        switch self {
        case .cnn:
            [.conv2d(inputChannels: 1, outputChannels: 32, kernelSize: 3, stride: 1, padding: 0), .relu,
             .conv2d(inputChannels: 32, outputChannels: 64, kernelSize: 3, stride: 1, padding: 0), .relu,
             .maxPool2d(kernelSize: 2, stride: 2), .dropout(rate: 0.25), .flatten,
             .dense(inputSize: 9216, outputSize: 128), .relu, .dropout(rate: 0.5),
             .dense(inputSize: 128, outputSize: 10)]
        case .lenet:
            [.conv2d(inputChannels: 1, outputChannels: 6, kernelSize: 5, stride: 1, padding: 2), .relu,
             .maxPool2d(kernelSize: 2, stride: 2),
             .conv2d(inputChannels: 6, outputChannels: 16, kernelSize: 5, stride: 1, padding: 0), .relu,
             .maxPool2d(kernelSize: 2, stride: 2), .flatten,
             .dense(inputSize: 400, outputSize: 120), .relu, .dense(inputSize: 120, outputSize: 84), .relu,
             .dense(inputSize: 84, outputSize: 10)]
        case .digits: DigitRecipe.layers
        case .quick: DigitRecipe.layers(.quick, classes: 10)
        case .mlp:
            [.dense(inputSize: 784, outputSize: 256), .relu, .dense(inputSize: 256, outputSize: 128), .relu,
             .dense(inputSize: 128, outputSize: 10)]
        }
    }

    /// Multiply-add flops of one training image: 3 × the forward pass's (the forward product and
    /// the backward pass's two, for the input and the weight gradients) over every convolution and
    /// dense layer. Activations, pooling and the optimizer are left out.
    var trainingFlopsPerImage: Double {
        var (channels, height, width) = inputShape.count == 3 ? (inputShape[0], inputShape[1], inputShape[2]) : (inputShape[0], 1, 1)
        var forward = 0.0
        for layer in specs {
            switch layer {
            case let .conv2d(input, output, kernel, stride, padding):
                height = (height + 2 * padding - kernel) / stride + 1
                width = (width + 2 * padding - kernel) / stride + 1
                forward += 2 * Double(input * kernel * kernel * output * height * width)
                channels = output
            case let .maxPool2d(kernel, stride):
                (height, width) = ((height - kernel) / stride + 1, (width - kernel) / stride + 1)
            case let .dense(input, output):
                forward += 2 * Double(input * output)
                (channels, height, width) = (output, 1, 1)
            default: break
            }
        }
        _ = channels
        return 3 * forward
    }
}
