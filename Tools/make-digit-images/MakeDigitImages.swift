// Renders MNIST test digits as the PNGs people have (dark ink on light paper, 64-512 px,
// off-centre, every PNG kind), for data/samples and for real-world evaluation sets.
import ArgumentParser
import Backprop
import DigitsKit
import Foundation
import PNGCodec

@main
struct MakeDigitImages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-digit-images",
        abstract: "Render MNIST test digits as user-style PNG files.",
        discussion: """
        data/samples was made with: make-digit-images --count 12 --output data/samples --flat
        A labelled evaluation set: make-digit-images --count 1000 --skip 5000 --output /tmp/real \
        (then digits evaluate --images /tmp/real).
        """)

    @Option(help: "Folder with the MNIST test files.")
    var data = "data/mnist"

    @Option(help: "How many images to write.")
    var count = 100

    @Option(help: "Start at this test image index.")
    var skip = 0

    @Option(help: "Output folder.")
    var output: String = "."

    @Flag(help: "Write <index>-<label>-<style>.png files in one folder instead of one sub-folder per label.")
    var flat = false

    @Option(help: "Seed for sizes, positions and paper/ink shades.")
    var seed: UInt64 = 7

    @Option(help: ArgumentHelp("Instead, write a contact sheet (16 × 8) of --count test digits distorted by the "
                               + "training augmentation ('captures'), to look at what the network is trained on.",
                               valueName: "png"))
    var augmentationSheet: String?

    func run() throws {
        let test = try MNISTDirectory(data).test(DigitPreprocessing())
        if let augmentationSheet { return try writeSheet(test, to: augmentationSheet) }
        guard skip + count <= test.count else { throw ValidationError("only \(test.count) test images") }
        let renderer = DigitImageRenderer()
        var random = RandomGenerator(seed: seed)
        let styles = DigitImageRenderer.Style.allCases
        let preprocessing = DigitPreprocessing()
        for offset in 0..<count {
            let index = skip + offset
            // Back from standardised inputs to ink levels in [0, 1].
            let digit = test.inputs.scalars[(index * 784)..<((index + 1) * 784)].map {
                $0 * preprocessing.deviation + preprocessing.mean
            }
            let style = styles[offset % styles.count]
            let label = test.labels[test.targets[index]]
            let bytes = renderer.render(Array(digit), style: style, random: &random)
            let folder = flat ? output : output + "/" + label
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let name = flat ? "\(index)-\(label)-\(style.rawValue).png" : "\(index)-\(style.rawValue).png"
            guard FileManager.default.createFile(atPath: folder + "/" + name, contents: Data(bytes)) else {
                throw ValidationError("cannot write \(folder)/\(name)")
            }
        }
        print("wrote \(count) images to \(output)")
    }

    /// Original digits in the odd columns, their augmented versions beside them.
    private func writeSheet(_ test: DigitData, to path: String) throws {
        let preprocessing = DigitPreprocessing()
        let (columns, rows) = (16, 8)
        let indices = Array(skip..<(skip + columns * rows / 2))
        var batch = Tensor(shape: [indices.count, 1, 28, 28],
                           scalars: indices.flatMap { test.inputs.scalars[($0 * 784)..<(($0 + 1) * 784)] })
        let original = batch
        var random = RandomGenerator(seed: seed)
        DigitAugmentation(preprocessing: preprocessing, captureEffects: true).apply(to: &batch, random: &random, threads: 2)
        var sheet = [Int](repeating: 0, count: columns * 28 * rows * 28)
        for (k, tensor) in [original, batch].enumerated() {
            for n in 0..<indices.count {
                let (column, row) = ((n % (columns / 2)) * 2 + k, n / (columns / 2))
                for y in 0..<28 {
                    for x in 0..<28 {
                        let ink = tensor.scalars[n * 784 + y * 28 + x] * preprocessing.deviation + preprocessing.mean
                        sheet[(row * 28 + y) * columns * 28 + column * 28 + x] = Int(max(0, min(1, ink)) * 255)
                    }
                }
            }
        }
        let bytes = PNGEncoder(width: columns * 28, height: rows * 28, colorType: .gray, bitDepth: 8).encode(samples: sheet)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw ValidationError("cannot write \(path)")
        }
        print("wrote \(path)")
    }
}
