import Foundation
import Testing
import TestSupport
import DigitsKit

@Suite("IDX files")
struct IDXTests {
    private func idx(magic: UInt32, dimensions: [UInt32], bodyLength: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for word in [magic] + dimensions { bytes += [UInt8(word >> 24), UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)] }
        return bytes + [UInt8](repeating: 7, count: bodyLength)
    }

    @Test("Valid image and label files parse")
    func valid() throws {
        let images = try IDXFile.parse(idx(magic: 2051, dimensions: [3, 2, 2], bodyLength: 12), magic: 2051, rank: 3, name: "x")
        #expect(images.dimensions == [3, 2, 2] && images.body.count == 12)
        let labels = try IDXFile.parse(idx(magic: 2049, dimensions: [5], bodyLength: 5), magic: 2049, rank: 1, name: "y")
        #expect(labels.body == [7, 7, 7, 7, 7])
    }

    @Test("Wrong magic, short headers, size mismatches and zero dimensions are clear errors")
    func invalid() {
        func error(_ bytes: [UInt8], magic: UInt32 = 2051, rank: Int = 3) -> String? {
            do { _ = try IDXFile.parse(bytes, magic: magic, rank: rank, name: "f"); return nil } catch { return error.description }
        }
        #expect(error(idx(magic: 2049, dimensions: [3, 2, 2], bodyLength: 12))?.contains("magic number 2049, expected 2051") == true)
        #expect(error([0, 0, 8])?.contains("too short") == true)
        #expect(error(idx(magic: 2051, dimensions: [3, 2, 2], bodyLength: 11))?.contains("holds 11") == true)
        #expect(error(idx(magic: 2051, dimensions: [3, 2, 2], bodyLength: 13)) != nil)
        #expect(error(idx(magic: 2051, dimensions: [0, 2, 2], bodyLength: 0))?.contains("dimension 0 is 0") == true)
        #expect(error(idx(magic: 2051, dimensions: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], bodyLength: 4)) != nil)
    }

    @Test("Gzipped files are detected and checked; corrupt gzip is a clear error")
    func gzip() throws {
        let directory = NSTemporaryDirectory() + "idx-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let raw = idx(magic: 2049, dimensions: [4], bodyLength: 4)
        FileManager.default.createFile(atPath: directory + "/labels", contents: Data(raw))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-k", directory + "/labels"]
        try process.run()
        process.waitUntilExit()
        #expect(try IDXFile.readLabels(directory + "/labels.gz") == [7, 7, 7, 7])
        var corrupt = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/labels.gz")))
        corrupt = Array(corrupt.prefix(corrupt.count - 6))
        FileManager.default.createFile(atPath: directory + "/cut.gz", contents: Data(corrupt))
        #expect(throws: DigitsError.self) { try IDXFile.readLabels(directory + "/cut.gz") }
    }
}

@Suite("Classification report")
struct ReportTests {
    @Test("Accuracy, precision, recall and confusion are counted correctly")
    func counts() {
        let report = ClassificationReport(actual: [0, 0, 1, 1, 2, 2], predicted: [0, 1, 1, 1, 2, 0], classes: 3)
        #expect(report.count == 6)
        #expect(abs(report.accuracy - 4.0 / 6) < 1e-12)
        #expect(report.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
        #expect(report.perClass.map(\.precision) == [0.5, 2.0 / 3, 1])
        #expect(report.perClass.map(\.recall) == [0.5, 1, 0.5])
    }
}
