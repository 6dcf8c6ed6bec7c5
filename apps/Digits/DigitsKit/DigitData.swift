import Backprop
import Foundation
import ModelFile
import PNGCodec

/// Labelled 28×28 digit images, ready for training or evaluation.
public struct DigitData: Sendable {
    /// `[count, 1, 28, 28]`, standardised.
    public var inputs: Tensor
    /// Class index of each image, into `labels`.
    public var targets: [Int]
    /// Class names, e.g. "0"..."9".
    public var labels: [String]
    /// Files that could not be used, with why (image folders only).
    public var skipped: [String] = []
    /// SHA-256 of the source files' contents, for provenance.
    public var checksum: String = ""
    /// The file each image came from (image folders; empty for MNIST), for reports.
    public var sources: [String] = []

    public init(inputs: Tensor, targets: [Int], labels: [String], skipped: [String] = [], checksum: String = "",
                sources: [String] = []) {
        self.inputs = inputs
        self.targets = targets
        self.labels = labels
        self.skipped = skipped
        self.checksum = checksum
        self.sources = sources
    }

    public var count: Int { targets.count }

    public var dataset: Dataset {
        Dataset(inputs: inputs, targets: Tensor(shape: [count], scalars: targets.map(Float.init)))
    }
}

/// The MNIST files of a directory: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally gzipped (`.gz`).
public struct MNISTDirectory {
    public let path: String

    public init(_ path: String) { self.path = path }

    /// The training set (60,000 images in MNIST).
    public func training(_ preprocessing: DigitPreprocessing) throws(DigitsError) -> DigitData {
        try load("train", preprocessing)
    }

    /// The test set (10,000 images in MNIST).
    public func test(_ preprocessing: DigitPreprocessing) throws(DigitsError) -> DigitData {
        try load("t10k", preprocessing)
    }

    private func file(_ stem: String) throws(DigitsError) -> String {
        for candidate in [stem, stem + ".gz"] where FileManager.default.fileExists(atPath: path + "/" + candidate) {
            return path + "/" + candidate
        }
        throw .unreadable(path: path, reason: "no \(stem) or \(stem).gz (run data/fetch, or pass --data DIR with the four MNIST files)")
    }

    private func load(_ split: String, _ preprocessing: DigitPreprocessing) throws(DigitsError) -> DigitData {
        let imagesPath = try file("\(split)-images-idx3-ubyte")
        let labelsPath = try file("\(split)-labels-idx1-ubyte")
        var hasher = SHA256()
        let images = try IDXFile.readImages(imagesPath, hashingInto: &hasher)
        let labels = try IDXFile.readLabels(labelsPath, hashingInto: &hasher)
        guard images.count == labels.count else {
            throw .invalidData(file: split, reason: "\(images.count) images but \(labels.count) labels")
        }
        guard images.rows == DigitNormalizer.fieldSize, images.columns == DigitNormalizer.fieldSize else {
            throw .invalidData(file: imagesPath, reason: "images are \(images.rows)×\(images.columns), expected 28×28")
        }
        if let bad = labels.first(where: { $0 > 9 }) {
            throw .invalidData(file: labelsPath, reason: "label \(bad) is not a digit 0-9")
        }
        let (mean, deviation) = (preprocessing.mean, preprocessing.deviation)
        let inputs = Tensor(shape: [images.count, 1, 28, 28], scalars: images.pixels.map { (Float($0) / 255 - mean) / deviation })
        return DigitData(inputs: inputs, targets: labels.map(Int.init), labels: (0...9).map(String.init),
                         checksum: hasher.hexDigest())
    }
}

/// A folder of PNGs in one sub-folder per label (`0/`, `1/`, ...). Every image goes through the
/// same MNIST-style normalisation as `classify`. Unreadable files are skipped and reported.
public struct ImageFolder {
    public let path: String

    public init(_ path: String) { self.path = path }

    /// Loads every `*.png` under each label sub-folder. With `labels`, the folder names must be
    /// among them (evaluation against a model); otherwise the sorted folder names become the labels.
    public func load(_ preprocessing: DigitPreprocessing, labels knownLabels: [String]? = nil,
                     raw: Bool = false) throws(DigitsError) -> DigitData {
        let manager = FileManager.default
        guard let entries = try? manager.contentsOfDirectory(atPath: path) else {
            throw .unreadable(path: path, reason: "not a readable directory")
        }
        let folders = entries.filter { entry in
            var isDirectory: ObjCBool = false
            return !entry.hasPrefix(".") && manager.fileExists(atPath: path + "/" + entry, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted { $0.localizedStandardCompare($1) == .orderedAscending }
        guard !folders.isEmpty else { throw .invalidFolder(path: path, reason: "no label sub-folders (expected 0/, 1/, ...)") }
        let labels = knownLabels ?? folders
        if let unknown = folders.first(where: { !labels.contains($0) }) {
            throw .invalidFolder(path: path + "/" + unknown, reason: "the model has no label \"\(unknown)\" (its labels: \(labels.joined(separator: ", ")))")
        }
        var images: [[Float]] = []
        var targets: [Int] = []
        var skipped: [String] = []
        var sources: [String] = []
        var hasher = SHA256()
        let normalizer = DigitNormalizer()
        for folder in folders {
            let directory = path + "/" + folder
            let names = ((try? manager.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.lowercased().hasSuffix(".png") }.sorted()
            for name in names {
                let file = directory + "/" + name
                do {
                    let bytes = try PNGDecoder.fileContents(file)
                    let image = try PNGDecoder.decode(bytes).compositedOverContrastingBackground()
                    images.append(raw ? normalizer.resizeOnly(image) : try normalizer.normalize(image))
                    targets.append(labels.firstIndex(of: folder)!)
                    sources.append(file)
                    hasher.update(bytes)
                } catch {
                    skipped.append("\(file): \(error)")
                }
            }
        }
        guard !images.isEmpty else { throw .invalidFolder(path: path, reason: "no readable PNG images in the label folders") }
        return DigitData(inputs: preprocessing.inputTensor(images), targets: targets, labels: labels,
                         skipped: skipped, checksum: hasher.hexDigest(), sources: sources)
    }
}
