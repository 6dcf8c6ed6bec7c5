import Backprop
import Foundation
import ModelFile
import PNGCodec

/// A trained digit model, loaded from its file, that classifies PNG images.
public struct DigitClassifier: Sendable {
    public let network: Network
    public let metadata: ModelMetadata
    public let preprocessing: DigitPreprocessing

    /// One image's outcome.
    public struct Result: Sendable {
        public let file: String
        /// Label probabilities, most likely first (all classes).
        public let ranking: [(label: String, probability: Float)]
        public var label: String { ranking[0].label }
        public var confidence: Float { ranking[0].probability }
    }

    public init(contentsOf path: String) throws {
        let loaded: ModelFile.Loaded
        let preprocessing: DigitPreprocessing
        do {
            (loaded, preprocessing) = try ModelFile.load(contentsOf: path, task: "digits", preprocessing: DigitPreprocessing.self)
        } catch {
            throw DigitsError("\(path): \(error)")
        }
        let side = preprocessing.fieldSize
        guard loaded.network.inputShape == [1, side, side], preprocessing.normalization == "mnist-style",
              loaded.network.outputShape == [loaded.metadata.labels.count], !loaded.metadata.labels.isEmpty else {
            throw DigitsError("\(path): the model does not take \(side)×\(side) gray images or its labels do not match its outputs")
        }
        network = loaded.network
        metadata = loaded.metadata
        self.preprocessing = preprocessing
    }

    /// Decodes and normalises each file (MNIST-style unless `raw`), then classifies all the
    /// readable ones in batches. Unreadable files come back as failures, in order with the others.
    public func classify(files: [String], raw: Bool = false,
                         threads: Int = ExecutionContext.availableProcessors)
        -> [(file: String, outcome: Swift.Result<Result, DigitsError>)] {
        let normalizer = DigitNormalizer()
        var outcomes = [Swift.Result<Result, DigitsError>?](repeating: nil, count: files.count)
        var images: [[Float]] = []
        var indices: [Int] = []
        for (index, file) in files.enumerated() {
            do {
                let image = try PNGDecoder.decode(contentsOf: file).compositedOverContrastingBackground()
                images.append(raw ? normalizer.resizeOnly(image) : try normalizer.normalize(image))
                indices.append(index)
            } catch {
                outcomes[index] = .failure(DigitsError("\(error)"))
            }
        }
        let chunk = 256
        for start in stride(from: 0, to: images.count, by: chunk) {
            let end = min(images.count, start + chunk)
            let probabilities = softmax(network.predict(preprocessing.inputTensor(Array(images[start..<end])), threads: threads))
            let classes = metadata.labels.count
            for row in 0..<(end - start) {
                let scores = (0..<classes).map { (label: metadata.labels[$0], probability: probabilities.scalars[row * classes + $0]) }
                let index = indices[start + row]
                outcomes[index] = .success(Result(file: files[index], ranking: scores.sorted { $0.probability > $1.probability }))
            }
        }
        return zip(files, outcomes).map { ($0, $1!) }
    }

    /// Accuracy and confusion on labelled data, which must use this model's labels.
    public func evaluate(_ data: DigitData, threads: Int = ExecutionContext.availableProcessors) -> ClassificationReport {
        DigitTraining.evaluate(network, on: data, threads: threads)
    }
}
