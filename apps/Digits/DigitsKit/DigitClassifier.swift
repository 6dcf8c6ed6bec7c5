import Backprop
import Foundation
import MatrixKernels
import ModelFile
import PNGCodec

/// A trained digit model with its preprocessing, ready to classify images: files, PNG bytes in
/// memory, or decoded images.
///
/// An immutable value: one classifier may be shared by any number of threads (a server shares one
/// across all requests).
public struct DigitClassifier: Sendable {
    public let network: Network
    public let metadata: ModelMetadata
    public let preprocessing: DigitPreprocessing

    /// Below this top probability an answer is marked uncertain rather than stated as a fact.
    public static let confidenceThreshold: Float = 0.6

    /// One image's outcome.
    public struct Classification: Sendable {
        /// Label probabilities, most likely first (all classes).
        public let ranking: [(label: String, probability: Float)]
        /// The 28×28 image the network saw, in [0, 1], ink = 1.
        public let input: [Float]
        /// Why the answer should not be taken as a fact: a top probability below
        /// `confidenceThreshold`, several large separate pieces of ink (more than one digit?), ink
        /// touching every edge of the picture. Empty for a confident reading of a single digit.
        public let doubts: [String]
        public var label: String { ranking[0].label }
        public var confidence: Float { ranking[0].probability }
        public var uncertain: Bool { !doubts.isEmpty }
    }

    /// Loads the model file at `path`.
    public init(contentsOf path: String) throws(DigitsError) {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.contents(of: path)
        } catch {
            throw .invalidModel(file: path, reason: error.reason)
        }
        try self.init(modelBytes: bytes, name: path)
    }

    /// Loads a model file's bytes already in memory; `name` labels errors.
    public init(modelBytes bytes: [UInt8], name: String = "model") throws(DigitsError) {
        let loaded: ModelFile.Loaded
        let preprocessing: DigitPreprocessing
        do {
            (loaded, preprocessing) = try ModelFile.load(bytes: bytes, task: "digits", preprocessing: DigitPreprocessing.self)
        } catch {
            throw .invalidModel(file: name, reason: error.reason)
        }
        try self.init(network: loaded.network, metadata: loaded.metadata, preprocessing: preprocessing, name: name)
    }

    /// A classifier from a network already in memory; `name` labels errors.
    public init(network: Network, metadata: ModelMetadata, preprocessing: DigitPreprocessing,
                name: String = "model") throws(DigitsError) {
        let side = preprocessing.fieldSize
        guard network.inputShape == [1, side, side], preprocessing.normalization == "mnist-style",
              network.outputShape == [metadata.labels.count], !metadata.labels.isEmpty else {
            throw .invalidModel(file: name, reason: "the model does not take \(side)×\(side) gray images or its labels do not match its outputs")
        }
        self.network = network
        self.metadata = metadata
        self.preprocessing = preprocessing
    }

    /// The 28×28 image the network sees for `image`, in [0, 1] (MNIST-style normalisation, or
    /// only resizing with `raw`), with what normalisation noticed.
    public func networkInput(for image: GrayImage, raw: Bool = false) throws(DigitsError) -> DigitNormalizer.NormalizedDigit {
        let normalizer = DigitNormalizer()
        guard !raw else {
            return DigitNormalizer.NormalizedDigit(pixels: normalizer.resizeOnly(image), largeComponents: 1,
                                                   touchesEveryEdge: false)
        }
        return try normalizer.analyze(image)
    }

    /// Classifies one decoded image.
    public func classify(_ image: GrayImage, raw: Bool = false, threads: Int = 1) throws(DigitsError) -> Classification {
        try classify(images: [image], raw: raw, threads: threads)[0].get()
    }

    /// Classifies one PNG given as its bytes (any kind the decoder reads); `name` labels errors.
    public func classify(pngData bytes: [UInt8], name: String = "image", raw: Bool = false,
                         threads: Int = 1) throws(DigitsError) -> Classification {
        classify(prepared: [try prepare(pngData: bytes, name: name, raw: raw)], threads: threads)[0]
    }

    /// Decodes and normalises a PNG given as its bytes: the work before the network, which a
    /// server does per request before batching the network's part (`classify(prepared:)`).
    public func prepare(pngData bytes: [UInt8], name: String = "image", raw: Bool = false) throws(DigitsError) -> DigitNormalizer.NormalizedDigit {
        let image: GrayImage
        do {
            image = try PNGDecoder.decode(bytes).compositedOverContrastingBackground()
        } catch {
            throw .invalidImage(file: name, reason: error.description)
        }
        return try networkInput(for: image, raw: raw)
    }

    /// Runs the network on digits already prepared (`prepare`, `networkInput`), in one batch.
    public func classify(prepared digits: [DigitNormalizer.NormalizedDigit], threads: Int = 1) -> [Classification] {
        classify(digits.map { .success($0) }, threads: threads).map { try! $0.get() }
    }

    /// Classifies decoded images in batches; an image without a digit comes back as a failure,
    /// in order with the others.
    public func classify(images: [GrayImage], raw: Bool = false,
                         threads: Int = ExecutionContext.availableProcessors) -> [Result<Classification, DigitsError>] {
        classify(images.map { image in Result { () throws(DigitsError) in try networkInput(for: image, raw: raw) } },
                 threads: threads)
    }

    /// Decodes and normalises each file (MNIST-style unless `raw`), then classifies all the
    /// readable ones in batches. Unreadable files come back as failures, in order with the others.
    public func classify(files: [String], raw: Bool = false,
                         threads: Int = ExecutionContext.availableProcessors)
        -> [(file: String, outcome: Result<Classification, DigitsError>)] {
        // Decoding and normalising dominate for files of any size: one file per task, on `threads`.
        var inputs = [Result<DigitNormalizer.NormalizedDigit, DigitsError>](repeating: .failure(.noDigitFound(reason: "")),
                                                                             count: files.count)
        inputs.withUnsafeMutableBufferPointer { results in
            let results = UnsafeSendableBuffer(results)
            Parallel.forEach(tasks: files.count, threads: min(threads, files.count)) { index in
                results.buffer[index] = Result { () throws(DigitsError) -> DigitNormalizer.NormalizedDigit in
                    let image: GrayImage
                    do throws(PNGError) {
                        image = try PNGDecoder.decode(contentsOf: files[index]).compositedOverContrastingBackground()
                    } catch {
                        throw .invalidImage(file: files[index], reason: error.description)
                    }
                    return try networkInput(for: image, raw: raw)
                }
            }
        }
        return Array(zip(files, classify(inputs, threads: threads)))
    }

    /// Runs the network on every successfully prepared 28×28 input, 256 at a time. A digit with
    /// alternative readings (see `DigitNormalizer.NormalizedDigit.alternatives`) gets the mean of
    /// their probabilities.
    private func classify(_ inputs: [Result<DigitNormalizer.NormalizedDigit, DigitsError>],
                          threads: Int) -> [Result<Classification, DigitsError>] {
        var outcomes = inputs.map { $0.map { _ in Classification(ranking: [], input: [], doubts: []) } }
        // One row per reading: (index of the input, its pixels).
        var readings: [(index: Int, pixels: [Float])] = []
        for (index, input) in inputs.enumerated() {
            guard case let .success(digit) = input else { continue }
            readings.append((index, digit.pixels))
            readings += digit.alternatives.map { (index, $0) }
        }
        let classes = metadata.labels.count
        var sums = [Int: [Float]]()
        var counts = [Int: Int]()
        let chunk = 256
        for start in stride(from: 0, to: readings.count, by: chunk) {
            let batch = readings[start..<min(readings.count, start + chunk)]
            let probabilities = softmax(network.predict(preprocessing.inputTensor(batch.map(\.pixels)), threads: threads))
            for (row, reading) in batch.enumerated() {
                let scores = probabilities.scalars[(row * classes)..<((row + 1) * classes)]
                sums[reading.index] = zip(sums[reading.index] ?? [Float](repeating: 0, count: classes), scores).map(+)
                counts[reading.index, default: 0] += 1
            }
        }
        for (index, sum) in sums {
            guard case let .success(digit) = inputs[index] else { continue }
            let count = Float(counts[index]!)
            let ranking = (0..<classes).map { (label: metadata.labels[$0], probability: sum[$0] / count) }
                .sorted { $0.probability > $1.probability }
            var doubts: [String] = []
            if ranking[0].probability < Self.confidenceThreshold {
                doubts.append("low confidence (below \(Self.confidenceThreshold))")
            }
            if digit.largeComponents > 1 { doubts.append("\(digit.largeComponents) separate large marks: more than one digit?") }
            if digit.touchesEveryEdge { doubts.append("the ink touches every edge of the picture") }
            outcomes[index] = .success(Classification(ranking: ranking, input: digit.pixels, doubts: doubts))
        }
        return outcomes
    }

    /// Accuracy and confusion on labelled data, which must use this model's labels.
    public func evaluate(_ data: DigitData, threads: Int = ExecutionContext.availableProcessors) -> ClassificationReport {
        DigitTraining.evaluate(network, on: data, threads: threads)
    }
}

/// A buffer that parallel tasks fill at distinct indices.
private struct UnsafeSendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}
