import Foundation
import Reports
import Testing

/// The chart code on constructed data: axes of known ranges, a confusion matrix of a known shape,
/// series and points that land where they should.
@Suite("Report charts")
struct ReportsTests {
    @Test("Linear axes widen to nice bounds with 1-2-5 steps; logarithmic axes tick at powers of ten")
    func axes() {
        let unit = Axis("p", range: 0...1)
        #expect(unit.range == 0...1)
        #expect(unit.ticks == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        let prices = Axis("$", range: 14_999...500_001)
        #expect(prices.range == 0...600_000 && prices.ticks == [0, 200_000, 400_000, 600_000])
        let log = Axis("$", range: 15_000...500_000, logarithmic: true)
        #expect(log.range == 10_000...1_000_000 && log.ticks == [10_000, 100_000, 1_000_000])
        #expect(log.fraction(100_000) == 0.5 && unit.fraction(-3) == 0 && unit.fraction(0.25) == 0.25)
        #expect(Axis("x", range: 5...5).range.contains(5))   // a single value still gets a span
        #expect(Axis.integers("epoch", from: 1, to: 3).ticks == [1, 2, 3])
        #expect([Axis.format(450_000), Axis.format(2_500_000), Axis.format(0.25), Axis.format(12)] == ["450k", "2.5M", "0.25", "12"])
    }

    @Test("A line chart draws one polyline per series, points where the data are, a legend for several, markers")
    func lineChart() {
        let chart = LineChart(name: "loss", x: Axis("epoch", range: 1...4, exact: true), y: Axis("loss", range: 0...1, exact: true),
                              series: [.init("training", points: [(1, 1), (2, 0.5), (3, 0.25), (4, 0)]),
                                       .init("validation", points: [(1, 1), (4, 0.5)], dashed: true)],
                              markers: [(3, "best epoch 3")], caption: "Loss per epoch.")
        let html = chart.html
        #expect(html.hasPrefix("<figure class=\"chart\" data-chart=\"loss\"><svg"))
        #expect(html.contains("<figcaption>Loss per epoch.</figcaption>"))
        #expect(html.components(separatedBy: "<polyline").count == 3)
        // The frame's plot area spans x 70...622 and y 34...290 (room above it for the marker's
        // label): (1, 1) is its top-left corner.
        #expect(html.contains("points=\"70.00,34.00 254.00,162.00 438.00,226.00 622.00,290.00\""))
        #expect(html.contains("class=\"legend\"") && html.contains(">validation</text>") && html.contains("best epoch 3"))
        // Marker labels: above the plot, where no curve or legend is, ending at their line in the
        // right half; one that would overlap its neighbour takes the other line.
        #expect(html.contains("<text x=\"438.00\" y=\"14.00\" text-anchor=\"end\" font-size=\"11\" fill=\"#027a48\">best epoch 3</text>"))
        let marked = LineChart(name: "loss", x: Axis("epoch", range: 1...8, exact: true), y: Axis("loss", range: 0...1, exact: true),
                               series: [.init("training", points: [(1, 1), (8, 0)])],
                               markers: [(7, "best 1"), (8, "best of network 2"), (2, "best 3"), (6, "best 4")], caption: "c").html
        #expect(marked.contains("<text x=\"543.14\" y=\"14.00\" text-anchor=\"end\""))   // epoch 7
        #expect(marked.contains("<text x=\"622.00\" y=\"28.00\" text-anchor=\"end\""))   // epoch 8: would overlap 7
        #expect(marked.contains("<text x=\"148.86\" y=\"14.00\" font-size"))              // epoch 2: left half, starts there
        #expect(marked.contains("<text x=\"464.29\" y=\"14.00\" text-anchor=\"end\""))   // epoch 6: clear of 7's label
        let single = LineChart(name: "lr", x: Axis("epoch", range: 1...2), y: Axis("rate", range: 0...1),
                               series: [.init("rate", points: [(1, 0), (2, 1)])], caption: "c")
        #expect(!single.html.contains("class=\"legend\""))
    }

    @Test("A heat map has rows × columns cells, links only where the count is above zero and a link is given")
    func heatMap() {
        let values = [[5, 1, 0], [0, 7, 2]]
        let map = HeatMap(name: "confusion", rowLabels: ["a", "b"], columnLabels: ["x", "y", "z"], values: values,
                          rowTitle: "actual", columnTitle: "predicted", caption: "Confusion.") { row, column in
            row == column ? nil : "#cell-\(row)-\(column)"
        }
        let html = map.html
        #expect(html.components(separatedBy: "class=\"cell\"").count == 7)
        #expect(html.components(separatedBy: "class=\"cell-link\"").count == 3)
        #expect(html.contains("href=\"#cell-0-1\"") && html.contains("href=\"#cell-1-2\"") && !html.contains("#cell-1-0"))
    }

    @Test("Scatter points and bars: one mark per datum; texts are escaped")
    func scatterAndBars() {
        let scatter = ScatterChart(name: "s", x: Axis("a", range: 0...10), y: Axis("b", range: 0...10),
                                   points: (0..<25).map { (Double($0 % 10), Double($0 / 3)) }, diagonal: true, caption: "<pairs> & co")
        #expect(scatter.html.components(separatedBy: "<circle").count == 26)
        #expect(scatter.html.contains("class=\"diagonal\"") && scatter.html.contains("&lt;pairs&gt; &amp; co"))
        let bars = BarChart(name: "b", bars: [("one", 3), ("two", -1), ("three", 2)], valueAxis: Axis("v", range: -1...3),
                            categoryLabel: "k", horizontal: true, caption: "c")
        #expect(bars.html.components(separatedBy: "class=\"bar\"").count == 4)
        var report = HTMLReport(title: "T", subtitle: "s", refreshSeconds: 5)
        report.headline([(key: "accuracy", label: "Accuracy", value: 0.5, shown: "50 %")])
        report.append(html: bars.html)
        let page = report.html
        #expect(page.contains("<dd data-key=\"accuracy\" data-value=\"0.5\">50 %</dd>"))
        #expect(page.contains("http-equiv=\"refresh\" content=\"5\"") && !page.contains("<script"))
    }
}
