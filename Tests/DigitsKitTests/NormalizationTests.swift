import Foundation
import Testing
import TestSupport
import DigitsKit
import PNGCodec
import Backprop

@Suite("MNIST-style normalisation")
struct NormalizationTests {
    /// A white canvas with a dark filled rectangle (ink) at the given place.
    private func darkRectangle(width: Int, height: Int, x: Range<Int>, y: Range<Int>) -> GrayImage {
        var image = GrayImage(width: width, height: height, repeating: 1)
        for row in y { for column in x { image[column, row] = 0 } }
        return image
    }

    private func centreOfMass(_ pixels: [Float]) -> (x: Float, y: Float) {
        var (mass, sx, sy): (Float, Float, Float) = (0, 0, 0)
        for (i, v) in pixels.enumerated() {
            mass += v
            sx += v * (Float(i % 28) + 0.5)
            sy += v * (Float(i / 28) + 0.5)
        }
        return (sx / mass, sy / mass)
    }

    private func inkBox(_ pixels: [Float]) -> (width: Int, height: Int) {
        let ink = pixels.indices.filter { pixels[$0] > 0.2 }
        let xs = ink.map { $0 % 28 }, ys = ink.map { $0 / 28 }
        return (xs.max()! - xs.min()! + 1, ys.max()! - ys.min()! + 1)
    }

    @Test("Dark ink on light paper is inverted into light ink on black")
    func polarity() throws {
        let output = try DigitNormalizer().normalize(darkRectangle(width: 100, height: 100, x: 40..<60, y: 20..<80))
        #expect(output[0] == 0)                   // paper became background
        #expect(output.max()! > 0.95)             // ink became bright
        // Light ink on dark paper is kept as it is.
        var light = GrayImage(width: 100, height: 100, repeating: 0)
        for y in 20..<80 { for x in 40..<60 { light[x, y] = 1 } }
        #expect(try DigitNormalizer().normalize(light) == output)
    }

    @Test("The digit is scaled to fit 20×20 keeping its aspect ratio, centred by mass, wherever it was")
    func aspectAndCentre() throws {
        // A 1:3 bar in a corner of a 300×200 image.
        let output = try DigitNormalizer().normalize(darkRectangle(width: 300, height: 200, x: 10..<40, y: 5..<95))
        let box = inkBox(output)
        #expect(box.height == 20)
        #expect(abs(box.width - 7) <= 1)          // 20 / 3 ≈ 6.7
        let centre = centreOfMass(output)
        #expect(abs(centre.x - 14) <= 0.5 && abs(centre.y - 14) <= 0.5)
    }

    @Test("Small digits are enlarged; blank images are an error, not a guess")
    func scaleUpAndBlank() throws {
        let output = try DigitNormalizer().normalize(darkRectangle(width: 64, height: 64, x: 30..<35, y: 28..<38))
        #expect(inkBox(output).height == 20)
        for blank in [GrayImage(width: 50, height: 50, repeating: 0.8), GrayImage(width: 1, height: 1, repeating: 0),
                      GrayImage(width: 0, height: 0, repeating: 0)] {
            #expect(throws: DigitsError.self) { try DigitNormalizer().normalize(blank) }
        }
    }

    @Test("28×28 MNIST digits come through unchanged in effect: the shipped model scores the same on them", .enabled(if: mnistPresent, "MNIST is not in data/mnist: run data/fetch"))
    func mnistUnchanged() throws {
        guard let test = try loadMNISTTest() else { return }
        let classifier = try DigitClassifier(contentsOf: repositoryRoot + "/data/models/digits.safetensors")
        let preprocessing = classifier.preprocessing
        let count = 2000
        var normalized: [[Float]] = []
        var comShift: Float = 0
        for index in 0..<count {
            let digit = Array(test.inputs.scalars[(index * 784)..<((index + 1) * 784)].map { $0 * preprocessing.deviation + preprocessing.mean })
            let output = try DigitNormalizer().normalize(GrayImage(width: 28, height: 28, pixels: digit))
            let (before, after) = (centreOfMass(digit), centreOfMass(output))
            comShift = max(comShift, max(abs(before.x - after.x), abs(before.y - after.y)))
            normalized.append(output)
        }
        let subset = DigitData(inputs: test.inputs.slice(0..<count), targets: Array(test.targets[0..<count]), labels: test.labels)
        let raw = classifier.evaluate(subset).accuracy
        let through = classifier.evaluate(DigitData(inputs: preprocessing.inputTensor(normalized), targets: subset.targets,
                                                    labels: test.labels)).accuracy
        print("shipped model on the first \(count) MNIST test digits: raw \(raw), normalised \(through)")
        #expect(abs(raw - through) <= 0.005, "raw \(raw), normalised \(through)")
        // MNIST digits are already centred by mass: at most rounding moves them.
        #expect(comShift <= 1.5, "centre of mass moved by up to \(comShift) px")
    }
}

/// The MNIST test set from data/mnist. Tests that need it are enabled only if `mnistPresent`; if it
/// is still missing (under CI), loading fails the test with the reason.
func loadMNISTTest() throws -> DigitData? {
    try MNISTDirectory(repositoryRoot + "/data/mnist").test(DigitPreprocessing())
}
