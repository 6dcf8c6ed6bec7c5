import ArgumentParser
import Backprop
import DigitsKit
import Foundation
import PNGCodec

extension Bench {
    /// What `digits classify FOLDER` spends per file before the network, on one thread: 300 MNIST
    /// test digits rendered as users' PNGs (`DigitImageRenderer`, every style in turn: 64–512 px,
    /// as `make-digit-images` and `Benchmarks/classify-folder.sh` make them). Reports microseconds
    /// per image for decoding, for the whole normaliser, and for its stages each on its own input
    /// (they do not add up to the whole: the ink levels include the polarity and the flattening,
    /// and the normaliser's own loops over the kept ink are the rest).
    func benchmarkNormalize(timer: inout SampleTimer) throws {
        let test = try MNISTDirectory("data/mnist").test(DigitPreprocessing())
        let preprocessing = DigitPreprocessing()
        let styles = DigitImageRenderer.Style.allCases
        var random = RandomGenerator(seed: 7)
        let count = quick ? 100 : 300
        let files = (0..<count).map { index in
            let digit = test.inputs.scalars[(index * 784)..<((index + 1) * 784)].map { $0 * preprocessing.deviation + preprocessing.mean }
            return DigitImageRenderer().render(Array(digit), style: styles[index % styles.count], random: &random)
        }
        func decode(_ bytes: [UInt8]) -> GrayImage { try! PNGDecoder.decode(bytes).compositedOverContrastingBackground() }
        let images = files.map(decode)
        let normalizer = DigitNormalizer()
        let perImage = 1 / Double(count)
        let repetitions = quick ? 3 : 7
        timer.measureLatency("folder_decode_1t", repetitions: repetitions, scale: perImage) {
            for file in files { _ = decode(file) }
        }
        timer.measureLatency("folder_normalize_1t", repetitions: repetitions, scale: perImage) {
            for image in images { _ = try? normalizer.analyze(image) }
        }
        // The stages, each timed on the input it gets inside `analyze` (computed untimed here).
        let dark = images.map { normalizer.inkIsDark($0) }
        let flattenInputs = zip(images, dark).map { image, dark in
            dark ? GrayImage(width: image.width, height: image.height, pixels: image.pixels.map { 1 - $0 }) : image
        }
        let inks = images.compactMap { normalizer.inkLevels($0, flattenBackground: true) }
        let masks = inks.map { ink in
            let threshold = max(DigitNormalizer.cropThreshold, InkSegmentation.otsuThreshold(ink.pixels))
            return InkSegmentation.mask(ink.pixels, above: threshold)
        }
        timer.measureLatency("normalize_stage_polarity_1t", repetitions: repetitions, scale: perImage) {
            for image in images { _ = normalizer.inkIsDark(image) }
        }
        timer.measureLatency("normalize_stage_flatten_1t", repetitions: repetitions, scale: perImage) {
            for image in flattenInputs { _ = image.subtractingBackground() }
        }
        timer.measureLatency("normalize_stage_ink_levels_1t", repetitions: repetitions, scale: perImage) {
            for image in images { _ = normalizer.inkLevels(image, flattenBackground: true) }
        }
        timer.measureLatency("normalize_stage_otsu_1t", repetitions: repetitions, scale: perImage) {
            for ink in inks { _ = InkSegmentation.otsuThreshold(ink.pixels) }
        }
        timer.measureLatency("normalize_stage_components_1t", repetitions: repetitions, scale: perImage) {
            for (ink, mask) in zip(inks, masks) { _ = InkSegmentation.components(mask, width: ink.width, height: ink.height) }
        }
        timer.measureLatency("normalize_stage_stroke_width_1t", repetitions: repetitions, scale: perImage) {
            for (ink, mask) in zip(inks, masks) { _ = InkSegmentation.strokeWidth(mask, width: ink.width, height: ink.height) }
        }
    }
}
