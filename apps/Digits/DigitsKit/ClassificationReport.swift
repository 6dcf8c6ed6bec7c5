import Foundation

/// Accuracy, per-class precision and recall, and the confusion matrix of a classifier on
/// labelled data. `confusion[actual][predicted]` counts images.
public struct ClassificationReport: Codable, Equatable, Sendable {
    public struct ClassScores: Codable, Equatable, Sendable {
        /// Of the images predicted as this class, the fraction that are (0 when none predicted).
        public let precision: Double
        /// Of the images of this class, the fraction predicted as it (0 when none exist).
        public let recall: Double
    }

    public let count: Int
    public let accuracy: Double
    public let confusion: [[Int]]
    public let perClass: [ClassScores]

    enum CodingKeys: String, CodingKey {
        case count, accuracy, confusion
        case perClass = "per_class"
    }

    public init(actual: [Int], predicted: [Int], classes: Int) {
        precondition(actual.count == predicted.count, "ClassificationReport: mismatched lengths")
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (truth, guess) in zip(actual, predicted) { confusion[truth][guess] += 1 }
        let correct = (0..<classes).reduce(0) { $0 + confusion[$1][$1] }
        count = actual.count
        accuracy = actual.isEmpty ? 0 : Double(correct) / Double(actual.count)
        self.confusion = confusion
        perClass = (0..<classes).map { c in
            let predictedAs = (0..<classes).reduce(0) { $0 + confusion[$1][c] }
            let actuallyIs = confusion[c].reduce(0, +)
            return ClassScores(precision: predictedAs == 0 ? 0 : Double(confusion[c][c]) / Double(predictedAs),
                               recall: actuallyIs == 0 ? 0 : Double(confusion[c][c]) / Double(actuallyIs))
        }
    }

    /// A human-readable table: accuracy, per-class precision/recall, confusion matrix.
    public func formatted(labels: [String]) -> String {
        func percent(_ value: Double) -> String { String(format: "%6.2f%%", value * 100) }
        var lines = ["accuracy \(percent(accuracy).trimmingCharacters(in: .whitespaces)) on \(count) images", "",
                     "class  precision  recall   count"]
        for (index, scores) in perClass.enumerated() {
            let name = labels.indices.contains(index) ? labels[index] : String(index)
            lines.append(name.padding(toLength: 5, withPad: " ", startingAt: 0) + "  " + percent(scores.precision)
                         + "    " + percent(scores.recall) + String(format: "%8d", confusion[index].reduce(0, +)))
        }
        let width = max(5, String(confusion.flatMap { $0 }.max() ?? 0).count + 1)
        lines += ["", "confusion (rows: actual, columns: predicted)",
                  "      " + labels.map { $0.leftPadded(to: width) }.joined()]
        for (index, row) in confusion.enumerated() {
            let name = labels.indices.contains(index) ? labels[index] : String(index)
            lines.append(name.padding(toLength: 6, withPad: " ", startingAt: 0)
                         + row.map { String($0).leftPadded(to: width) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
