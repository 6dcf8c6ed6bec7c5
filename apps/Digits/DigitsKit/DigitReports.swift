import Backprop
import Foundation
import PNGCodec
import Reports

/// The HTML reports of `digits evaluate --report` and `digits train --report` (see `HTMLReport`:
/// one self-contained file of inline SVG charts and inline images).
public enum DigitReports {
    /// Misclassified images shown at most (the report says how many more there were); with two
    /// small PNGs each, a report of 10,000 images stays under a megabyte or two.
    public static let misclassifiedLimit = 200
    /// Least confident correct answers shown.
    public static let leastConfidentLimit = 24

    // MARK: - Evaluation

    /// The evaluation report: accuracy, per-class precision and recall, the confusion matrix (its
    /// off-diagonal cells link to the images behind them), a gallery of misclassified images
    /// (the original, the 28×28 the network saw, the top three classes), a reliability diagram,
    /// and the least confident correct answers.
    public static func evaluation(_ evaluation: DigitEvaluation, preprocessing: DigitPreprocessing,
                                  model: String, data: String) -> String {
        let labels = evaluation.data.labels
        let report = evaluation.report
        var page = HTMLReport(title: "Digit model evaluation", subtitle: "\(model) on \(data)")
        page.headline([
            (key: "accuracy", label: "Accuracy", value: report.accuracy, shown: String(format: "%.2f %%", report.accuracy * 100)),
            (key: "count", label: "Images", value: Double(report.count), shown: "\(report.count)"),
            (key: "errors", label: "Misclassified", value: Double(report.count - report.confusion.indices.reduce(0) { $0 + report.confusion[$1][$1] }),
             shown: "\(report.count - report.confusion.indices.reduce(0) { $0 + report.confusion[$1][$1] })"),
        ])

        page.section("Per class")
        page.table(header: ["class", "precision", "recall", "images"],
                   rows: labels.indices.map { c in
                       [labels[c], String(format: "%.2f %%", report.perClass[c].precision * 100),
                        String(format: "%.2f %%", report.perClass[c].recall * 100), "\(report.confusion[c].reduce(0, +))"]
                   }, numeric: [1, 2, 3])
        let lowest = report.perClass.flatMap { [$0.precision, $0.recall] }.min() ?? 0
        page.append(html: LineChart(
            name: "per-class", x: Axis("class", range: 0...Double(max(1, labels.count - 1)), exact: true),
            y: Axis("%", range: (floor(lowest * 100) - 1)...100),
            series: [.init("precision", points: report.perClass.enumerated().map { (Double($0), $1.precision * 100) }),
                     .init("recall", points: report.perClass.enumerated().map { (Double($0), $1.recall * 100) }, dashed: true)],
            caption: "Precision and recall of each class (the x axis counts classes in the model's label order: \(labels.joined(separator: ", ")))."
        ).html)

        page.section("Confusion matrix", note: "Rows: the true class; columns: the model's answer. A cell off the diagonal links to its images in the gallery below.")
        let shownPairs = misclassifiedGroups(evaluation).prefixGroups(limit: misclassifiedLimit).map(\.pair)
        page.append(html: HeatMap(
            name: "confusion", rowLabels: labels, columnLabels: labels, values: report.confusion, rowTitle: "true class",
            columnTitle: "answer", caption: "How many images of each true class (rows) got each answer (columns).") { row, column in
                row != column && shownPairs.contains(Pair(actual: row, predicted: column)) ? "#errors-\(row)-\(column)" : nil
            }.html)

        page.section("Misclassified images", id: "errors",
                     note: "For each image: the file as given (for image folders), the 28×28 image the network saw, and the three most probable classes. "
                         + "At most \(misclassifiedLimit) are shown, grouped by true class and answer, the surest mistakes first.")
        let groups = misclassifiedGroups(evaluation)
        let shown = groups.prefixGroups(limit: misclassifiedLimit)
        var gallery = ""
        for group in shown {
            gallery += "<div class=\"group\" id=\"errors-\(group.pair.actual)-\(group.pair.predicted)\">\(SVG.escape(labels[group.pair.actual])) read as \(SVG.escape(labels[group.pair.predicted])) (\(group.total))</div><div class=\"gallery\">"
            for index in group.images { gallery += item(evaluation, index, preprocessing: preprocessing) }
            gallery += "</div>"
        }
        let total = groups.reduce(0) { $0 + $1.total }, displayed = shown.reduce(0) { $0 + $1.images.count }
        if total > displayed { gallery += "<p class=\"note\">\(total - displayed) more misclassified images are not shown.</p>" }
        if total == 0 { gallery += "<p>None.</p>" }
        page.append(html: "<div data-gallery=\"misclassified\" data-count=\"\(displayed)\">\(gallery)</div>\n")

        page.section("Reliability", note: "Answers grouped by their confidence: when the model says 90 %, is it right 90 % of the time?")
        let bins = evaluation.reliability()
        page.append(html: LineChart(
            name: "reliability", x: Axis("confidence of the answer (%)", range: 0...100, exact: true),
            y: Axis("accuracy (%)", range: 0...100, exact: true),
            series: [.init("model", points: bins.map { ($0.confidence * 100, $0.accuracy * 100) }),
                     .init("perfectly calibrated", points: [(0, 0), (100, 100)], color: "#98a2b3", dashed: true)],
            caption: "Accuracy against confidence, in ten bins of confidence (each point is one bin's mean).").html)
        page.table(header: ["mean confidence", "accuracy", "answers"],
                   rows: bins.map { [String(format: "%.1f %%", $0.confidence * 100), String(format: "%.1f %%", $0.accuracy * 100), "\($0.count)"] },
                   numeric: [0, 1, 2])

        page.section("Least confident correct answers", note: "The \(leastConfidentLimit) right answers the model was least sure of.")
        let confidences = evaluation.confidences
        let unsure = evaluation.data.targets.indices.filter { evaluation.predicted[$0] == evaluation.data.targets[$0] }
            .sorted { confidences[$0] < confidences[$1] }.prefix(leastConfidentLimit)
        page.append(html: "<div class=\"gallery\" data-gallery=\"least-confident\" data-count=\"\(unsure.count)\">"
                    + unsure.map { item(evaluation, $0, preprocessing: preprocessing) }.joined() + "</div>\n")
        return page.html
    }

    struct Pair: Hashable { let actual: Int, predicted: Int }
    struct Group { let pair: Pair; let images: [Int]; let total: Int }

    /// The misclassified images by (true class, answer), most frequent confusions first; within a
    /// group the most confident mistakes first.
    static func misclassifiedGroups(_ evaluation: DigitEvaluation) -> [Group] {
        var byPair: [Pair: [Int]] = [:]
        for (index, actual) in evaluation.data.targets.enumerated() where evaluation.predicted[index] != actual {
            byPair[Pair(actual: actual, predicted: evaluation.predicted[index]), default: []].append(index)
        }
        let confidences = evaluation.confidences
        return byPair.map { Group(pair: $0.key, images: $0.value.sorted { confidences[$0] > confidences[$1] }, total: $0.value.count) }
            .sorted { $0.total != $1.total ? $0.total > $1.total
                      : ($0.pair.actual, $0.pair.predicted) < ($1.pair.actual, $1.pair.predicted) }
    }

    /// One gallery entry: the original, the 28×28 input, the top three classes.
    static func item(_ evaluation: DigitEvaluation, _ index: Int, preprocessing: DigitPreprocessing) -> String {
        let labels = evaluation.data.labels
        let seen = evaluation.input(index, preprocessing: preprocessing)
        let seenPNG = PNGEncoder(width: 28, height: 28, colorType: .gray, bitDepth: 8).encode(samples: seen.map { Int(($0 * 255).rounded()) })
        // MNIST's images are already what the network sees (white ink on black, 28×28): one picture.
        var original = "", name = "MNIST test image \(index + 1)"
        if evaluation.data.sources.indices.contains(index) {
            name = evaluation.data.sources[index]
            if let thumbnail = thumbnail(of: name) { original = HTMLReport.image(png: thumbnail, alt: "the file as given", width: 72) }
        }
        let ranking = evaluation.probabilities[index].enumerated().sorted { $0.element > $1.element }.prefix(3)
        let top = ranking.map { "\(SVG.escape(labels[$0.offset])) (\(String(format: "%.1f", $0.element * 100)) %)" }.joined(separator: ", ")
        return "<div class=\"item\"><div class=\"pair\">\(original)"
            + HTMLReport.image(png: seenPNG, alt: "the 28×28 image the network saw", width: 56, pixelated: true)
            + "</div><div title=\"\(SVG.escape(name))\">\(SVG.escape(URL(fileURLWithPath: name).lastPathComponent))</div>"
            + "<div>true \(SVG.escape(labels[evaluation.data.targets[index]])); read \(top)</div></div>"
    }

    /// A gray PNG of the file at `path`, at most 72 px on its long side; nil if it cannot be read.
    static func thumbnail(of path: String) -> [UInt8]? {
        guard let image = try? PNGDecoder.decode(contentsOf: path).compositedOverContrastingBackground() else { return nil }
        let scale = min(1, 72 / Double(max(image.width, image.height)))
        let small = image.resampled(width: max(1, Int(Double(image.width) * scale)), height: max(1, Int(Double(image.height) * scale)))
        return PNGEncoder(width: small.width, height: small.height, colorType: .gray, bitDepth: 8)
            .encode(samples: small.pixels.map { Int(($0 * 255).rounded()) })
    }

    // MARK: - Training

    /// One epoch as the training report shows it: the trainer's report, plus the held-out set's
    /// loss and accuracy when they were measured (MNIST's test set, or an image folder's 10 %).
    public struct EpochLine: Sendable {
        public let report: EpochReport
        public let heldOutLoss: Double?
        public let heldOutAccuracy: Double?
        public init(report: EpochReport, heldOutLoss: Double?, heldOutAccuracy: Double?) {
            (self.report, self.heldOutLoss, self.heldOutAccuracy) = (report, heldOutLoss, heldOutAccuracy)
        }
    }

    /// The training report: loss per epoch (training, and held-out when measured), held-out
    /// accuracy with the best epoch marked, the learning-rate schedule and seconds per epoch.
    /// `finished` false makes the page reload itself, so a run can be watched.
    public static func training(_ epochs: [EpochLine], command: String, heldOut: String, finished: Bool) -> String {
        var page = HTMLReport(title: "Digit training", subtitle: command, refreshSeconds: finished ? nil : 10)
        guard let last = epochs.last else {
            page.paragraph("No epoch has finished yet.")
            return page.html
        }
        let best = epochs.filter { $0.heldOutAccuracy != nil }.max { $0.heldOutAccuracy! < $1.heldOutAccuracy! }
        page.headline([
            (key: "epochs", label: "Epochs", value: Double(last.report.epoch), shown: "\(last.report.epoch) of \(last.report.epochs)"),
            (key: "training_loss", label: "Training loss", value: last.report.trainingLoss, shown: String(format: "%.4f", last.report.trainingLoss)),
        ] + (last.heldOutAccuracy.map { [(key: "accuracy", label: "\(heldOut.prefix(1).uppercased() + heldOut.dropFirst()) accuracy", value: $0, shown: String(format: "%.2f %%", $0 * 100))] } ?? [])
          + (best.map { [(key: "best_epoch", label: "Best epoch", value: Double($0.report.epoch), shown: "\($0.report.epoch)")] } ?? []))
        let x = Axis.integers("epoch", from: 1, to: last.report.epochs)
        let marker = best.map { [(x: Double($0.report.epoch), label: "best epoch \($0.report.epoch)")] } ?? []
        var lossSeries = [LineChart.Series("training", points: epochs.map { (Double($0.report.epoch), $0.report.trainingLoss) })]
        if epochs.contains(where: { $0.heldOutLoss != nil }) {
            lossSeries.append(.init(heldOut, points: epochs.compactMap { line in line.heldOutLoss.map { (Double(line.report.epoch), $0) } }, dashed: true))
        }
        page.section("Loss")
        page.append(html: LineChart(name: "loss", x: x, y: Axis("cross-entropy loss", fitting: lossSeries.flatMap { $0.points.map(\.y) }, includingZero: true),
                                    series: lossSeries, markers: marker,
                                    caption: "Mean cross-entropy per epoch: on the training batches as the weights changed, and on the \(heldOut) images after the epoch.").html)
        if best != nil {
            page.section("Accuracy")
            let points = epochs.compactMap { line in line.heldOutAccuracy.map { (Double(line.report.epoch), $0 * 100) } }
            page.append(html: LineChart(name: "accuracy", x: x, y: Axis("\(heldOut) accuracy (%)", fitting: points.map(\.1)),
                                        series: [.init(heldOut, points: points)], markers: marker,
                                        caption: "Accuracy on the \(heldOut) images after each epoch; the dashed line marks the best.").html)
        }
        page.section("Schedule and speed")
        page.append(html: LineChart(name: "learning-rate", x: x, y: Axis("learning rate", fitting: epochs.map { Double($0.report.learningRate) }, includingZero: true),
                                    series: [.init("learning rate", points: epochs.map { (Double($0.report.epoch), Double($0.report.learningRate)) })],
                                    caption: "The learning rate at the end of each epoch (one-cycle cosine schedule).").html)
        page.append(html: BarChart(name: "seconds", bars: epochs.map { ("\($0.report.epoch)", $0.report.seconds) },
                                   valueAxis: Axis("seconds", fitting: epochs.map(\.report.seconds), includingZero: true),
                                   categoryLabel: "epoch", caption: "Wall time of each epoch, evaluation included.").html)
        return page.html
    }
}

extension Array where Element == DigitReports.Group {
    /// The leading groups, cut so that at most `limit` images are shown in all.
    func prefixGroups(limit: Int) -> [DigitReports.Group] {
        var shown: [DigitReports.Group] = []
        var remaining = limit
        for group in self where remaining > 0 {
            let images = [Int](group.images.prefix(remaining))
            shown.append(DigitReports.Group(pair: group.pair, images: images, total: group.total))
            remaining -= images.count
        }
        return shown
    }
}
