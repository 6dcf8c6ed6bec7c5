import Foundation

/// Inline SVG charts for self-contained HTML reports: every chart has its axes with units, a
/// legend when it has several series, and a one-line caption, and is wrapped in
/// `<figure class="chart" data-chart="NAME">` so tests and readers can find it.
public enum SVG {
    /// `text` safe inside HTML/SVG text and attributes.
    public static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// A number for SVG coordinates: two decimals, no exponent.
    static func number(_ value: Double) -> String { String(format: "%.2f", value.isFinite ? value : 0) }

    /// Colours of successive series.
    public static let palette = ["#2f6fde", "#e8590c", "#12b76a", "#7a5af8", "#f04438", "#0ba5ec", "#ee46bc", "#667085"]

    /// `svg` in a figure with its caption.
    static func figure(name: String, svg: String, caption: String) -> String {
        "<figure class=\"chart\" data-chart=\"\(escape(name))\">\(svg)<figcaption>\(escape(caption))</figcaption></figure>\n"
    }
}

/// The plotting area of a chart and its two axes: maps data to SVG coordinates and draws the
/// frame, grid, ticks and axis titles.
struct ChartFrame {
    var width = 640.0, height = 340.0
    var left = 70.0, right = 18.0, top = 14.0, bottom = 50.0
    let x: Axis, y: Axis

    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }
    func px(_ value: Double) -> Double { left + x.fraction(value) * plotWidth }
    func py(_ value: Double) -> Double { top + (1 - y.fraction(value)) * plotHeight }

    func open(_ title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(SVG.escape(title))\">"
    }

    /// Grid lines, ticks with labels, and the axis titles.
    func axes() -> String {
        var svg = "<g class=\"axes\" font-size=\"11\" fill=\"#475467\">"
        for tick in y.ticks {
            let y = SVG.number(py(tick))
            svg += "<line x1=\"\(SVG.number(left))\" x2=\"\(SVG.number(left + plotWidth))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#eaecf0\"/>"
            svg += "<text x=\"\(SVG.number(left - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Axis.format(tick))</text>"
        }
        for tick in x.ticks {
            let x = SVG.number(px(tick))
            svg += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(SVG.number(top))\" y2=\"\(SVG.number(top + plotHeight))\" stroke=\"#f2f4f7\"/>"
            svg += "<text x=\"\(x)\" y=\"\(SVG.number(top + plotHeight + 16))\" text-anchor=\"middle\">\(Axis.format(tick))</text>"
        }
        svg += "<rect x=\"\(SVG.number(left))\" y=\"\(SVG.number(top))\" width=\"\(SVG.number(plotWidth))\" height=\"\(SVG.number(plotHeight))\" fill=\"none\" stroke=\"#98a2b3\"/>"
        svg += "<text class=\"axis-title\" x=\"\(SVG.number(left + plotWidth / 2))\" y=\"\(SVG.number(height - 8))\" text-anchor=\"middle\" font-size=\"12\">\(SVG.escape(x.label))</text>"
        svg += "<text class=\"axis-title\" transform=\"translate(14 \(SVG.number(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">\(SVG.escape(y.label))</text>"
        return svg + "</g>"
    }

    /// A legend of coloured swatches in the plot's top-right corner.
    func legend(_ entries: [(name: String, color: String, dashed: Bool)]) -> String {
        guard entries.count > 1 else { return "" }
        let rowHeight = 16.0, boxWidth = 8 + 7 * Double(entries.map(\.name.count).max() ?? 0) + 26
        let x0 = left + plotWidth - boxWidth - 6, y0 = top + 6
        var svg = "<g class=\"legend\" font-size=\"11\"><rect x=\"\(SVG.number(x0))\" y=\"\(SVG.number(y0))\" width=\"\(SVG.number(boxWidth))\" height=\"\(SVG.number(Double(entries.count) * rowHeight + 6))\" fill=\"#fff\" fill-opacity=\"0.9\" stroke=\"#d0d5dd\"/>"
        for (index, entry) in entries.enumerated() {
            let y = y0 + 11 + Double(index) * rowHeight
            svg += "<line x1=\"\(SVG.number(x0 + 6))\" x2=\"\(SVG.number(x0 + 24))\" y1=\"\(SVG.number(y))\" y2=\"\(SVG.number(y))\" stroke=\"\(entry.color)\" stroke-width=\"2.5\"\(entry.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            svg += "<text x=\"\(SVG.number(x0 + 30))\" y=\"\(SVG.number(y))\" dominant-baseline=\"middle\">\(SVG.escape(entry.name))</text>"
        }
        return svg + "</g>"
    }
}

/// Lines over a shared x axis (loss per epoch, one line per network), with optional vertical
/// markers (the best epoch).
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String?
        public var dashed: Bool
        public init(_ name: String, points: [(x: Double, y: Double)], color: String? = nil, dashed: Bool = false) {
            (self.name, self.points, self.color, self.dashed) = (name, points, color, dashed)
        }
    }

    public var name: String
    public var x: Axis
    public var y: Axis
    public var series: [Series]
    /// Vertical lines with a label (e.g. "best epoch 12").
    public var markers: [(x: Double, label: String)]
    public var caption: String

    public init(name: String, x: Axis, y: Axis, series: [Series], markers: [(x: Double, label: String)] = [], caption: String) {
        (self.name, self.x, self.y, self.series, self.markers, self.caption) = (name, x, y, series, markers, caption)
    }

    public var html: String {
        var frame = ChartFrame(x: x, y: y)
        // Marker labels go above the plot, where no curve or legend is: two lines of room.
        if !markers.isEmpty { frame.top = 34 }
        var svg = frame.open(caption) + frame.axes()
        for (index, line) in series.enumerated() {
            let color = line.color ?? SVG.palette[index % SVG.palette.count]
            let points = line.points.filter { $0.x.isFinite && $0.y.isFinite && (!y.logarithmic || $0.y > 0) }
            let path = points.map { "\(SVG.number(frame.px($0.x))),\(SVG.number(frame.py($0.y)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" data-series=\"\(SVG.escape(line.name))\" points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            // Dots only for short series, where they show where the measurements are.
            if series.allSatisfy({ $0.points.count <= 30 }) {
                for point in points {
                    svg += "<circle cx=\"\(SVG.number(frame.px(point.x)))\" cy=\"\(SVG.number(frame.py(point.y)))\" r=\"2.5\" fill=\"\(color)\"/>"
                }
            }
        }
        // Each label ends at its line in the right half (so it stays inside the chart) and starts
        // there in the left; a label that would overlap the one before it takes the other line.
        var placed: [[ClosedRange<Double>]] = [[], []]   // the x extent of the labels on each line
        for marker in markers {
            let x = frame.px(marker.x)
            svg += "<g class=\"marker\"><line x1=\"\(SVG.number(x))\" x2=\"\(SVG.number(x))\" y1=\"\(SVG.number(frame.top))\" y2=\"\(SVG.number(frame.top + frame.plotHeight))\" stroke=\"#12b76a\" stroke-dasharray=\"3 3\"/>"
            let width = 6.5 * Double(marker.label.count)   // 11 px text, generously
            let rightHalf = x > frame.left + frame.plotWidth / 2
            let extent = rightHalf ? (x - width)...x : x...(x + width)
            let line = placed[0].contains { $0.overlaps(extent) } ? 1 : 0
            placed[line].append(extent)
            let y = frame.top - 6 - 14 * Double(1 - line)
            svg += "<text x=\"\(SVG.number(x))\" y=\"\(SVG.number(y))\"\(rightHalf ? " text-anchor=\"end\"" : "") font-size=\"11\" fill=\"#027a48\">\(SVG.escape(marker.label))</text></g>"
        }
        svg += frame.legend(series.enumerated().map { ($1.name, $1.color ?? SVG.palette[$0 % SVG.palette.count], $1.dashed) })
        return SVG.figure(name: name, svg: svg + "</svg>", caption: caption)
    }
}

/// Points in the plane (predicted against actual), with an optional y = x line.
public struct ScatterChart: Sendable {
    public var name: String
    public var x: Axis
    public var y: Axis
    public var points: [(x: Double, y: Double)]
    public var diagonal: Bool
    public var caption: String

    public init(name: String, x: Axis, y: Axis, points: [(x: Double, y: Double)], diagonal: Bool = false, caption: String) {
        (self.name, self.x, self.y, self.points, self.diagonal, self.caption) = (name, x, y, points, diagonal, caption)
    }

    public var html: String {
        let frame = ChartFrame(x: x, y: y)
        var svg = frame.open(caption) + frame.axes()
        if diagonal {
            let low = max(x.range.lowerBound, y.range.lowerBound), high = min(x.range.upperBound, y.range.upperBound)
            svg += "<line class=\"diagonal\" x1=\"\(SVG.number(frame.px(low)))\" y1=\"\(SVG.number(frame.py(low)))\" x2=\"\(SVG.number(frame.px(high)))\" y2=\"\(SVG.number(frame.py(high)))\" stroke=\"#f04438\" stroke-dasharray=\"4 3\"/>"
        }
        svg += "<g class=\"points\" fill=\"#2f6fde\" fill-opacity=\"0.35\">"
        for point in points where point.x.isFinite && point.y.isFinite {
            svg += "<circle cx=\"\(SVG.number(frame.px(point.x)))\" cy=\"\(SVG.number(frame.py(point.y)))\" r=\"2\"/>"
        }
        return SVG.figure(name: name, svg: svg + "</g></svg>", caption: caption)
    }
}

/// Bars for labelled values (a histogram, error by decile, feature importance): vertical, or
/// horizontal for long labels.
public struct BarChart: Sendable {
    public var name: String
    public var bars: [(label: String, value: Double)]
    /// The values' axis (its label says what they are, with units).
    public var valueAxis: Axis
    public var categoryLabel: String
    public var horizontal: Bool
    public var caption: String

    public init(name: String, bars: [(label: String, value: Double)], valueAxis: Axis, categoryLabel: String,
                horizontal: Bool = false, caption: String) {
        (self.name, self.bars, self.valueAxis, self.categoryLabel, self.horizontal, self.caption) =
            (name, bars, valueAxis, categoryLabel, horizontal, caption)
    }

    public var html: String {
        let count = Double(max(1, bars.count))
        if horizontal {
            var frame = ChartFrame(x: valueAxis, y: Axis(categoryLabel, range: 0...count, exact: true))
            frame.left = 12 + 7 * Double(bars.map(\.label.count).max() ?? 4)
            frame.height = max(160, 28 * count + frame.top + frame.bottom)
            var svg = frame.open(caption)
            svg += "<g class=\"axes\" font-size=\"11\" fill=\"#475467\">"
            for tick in valueAxis.ticks {
                let x = SVG.number(frame.px(tick))
                svg += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(SVG.number(frame.top))\" y2=\"\(SVG.number(frame.top + frame.plotHeight))\" stroke=\"#eaecf0\"/>"
                svg += "<text x=\"\(x)\" y=\"\(SVG.number(frame.top + frame.plotHeight + 16))\" text-anchor=\"middle\">\(Axis.format(tick))</text>"
            }
            svg += "<text class=\"axis-title\" x=\"\(SVG.number(frame.left + frame.plotWidth / 2))\" y=\"\(SVG.number(frame.height - 8))\" text-anchor=\"middle\" font-size=\"12\">\(SVG.escape(valueAxis.label))</text></g>"
            let band = frame.plotHeight / count
            for (index, bar) in bars.enumerated() {
                let y = frame.top + Double(index) * band
                let (x0, x1) = (frame.px(max(valueAxis.range.lowerBound, min(0, bar.value))), frame.px(max(0, bar.value)))
                svg += "<rect class=\"bar\" x=\"\(SVG.number(min(x0, x1)))\" y=\"\(SVG.number(y + band * 0.15))\" width=\"\(SVG.number(abs(x1 - x0)))\" height=\"\(SVG.number(band * 0.7))\" fill=\"#2f6fde\"><title>\(SVG.escape(bar.label)): \(Axis.format(bar.value))</title></rect>"
                svg += "<text x=\"\(SVG.number(frame.left - 6))\" y=\"\(SVG.number(y + band / 2))\" text-anchor=\"end\" dominant-baseline=\"middle\" font-size=\"11\">\(SVG.escape(bar.label))</text>"
            }
            return SVG.figure(name: name, svg: svg + "</svg>", caption: caption)
        }
        let frame = ChartFrame(x: Axis(categoryLabel, range: 0...count, exact: true), y: valueAxis)
        var svg = frame.open(caption)
        svg += "<g class=\"axes\" font-size=\"11\" fill=\"#475467\">"
        for tick in valueAxis.ticks {
            let y = SVG.number(frame.py(tick))
            svg += "<line x1=\"\(SVG.number(frame.left))\" x2=\"\(SVG.number(frame.left + frame.plotWidth))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#eaecf0\"/>"
            svg += "<text x=\"\(SVG.number(frame.left - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Axis.format(tick))</text>"
        }
        svg += "<text class=\"axis-title\" x=\"\(SVG.number(frame.left + frame.plotWidth / 2))\" y=\"\(SVG.number(frame.height - 8))\" text-anchor=\"middle\" font-size=\"12\">\(SVG.escape(categoryLabel))</text>"
        svg += "<text class=\"axis-title\" transform=\"translate(14 \(SVG.number(frame.top + frame.plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">\(SVG.escape(valueAxis.label))</text></g>"
        let band = frame.plotWidth / count
        let labelEvery = max(1, Int(ceil(count / 8)))
        for (index, bar) in bars.enumerated() {
            let x = frame.left + Double(index) * band
            let (y0, y1) = (frame.py(max(valueAxis.range.lowerBound, min(0, bar.value))), frame.py(max(0, bar.value)))
            svg += "<rect class=\"bar\" x=\"\(SVG.number(x + band * 0.1))\" y=\"\(SVG.number(min(y0, y1)))\" width=\"\(SVG.number(band * 0.8))\" height=\"\(SVG.number(abs(y1 - y0)))\" fill=\"#2f6fde\"><title>\(SVG.escape(bar.label)): \(Axis.format(bar.value))</title></rect>"
            if index % labelEvery == 0 {
                svg += "<text x=\"\(SVG.number(x + band / 2))\" y=\"\(SVG.number(frame.top + frame.plotHeight + 16))\" text-anchor=\"middle\" font-size=\"11\">\(SVG.escape(bar.label))</text>"
            }
        }
        return SVG.figure(name: name, svg: svg + "</svg>", caption: caption)
    }
}

/// A matrix of counts as coloured cells (a confusion matrix), each cell optionally a link.
public struct HeatMap: Sendable {
    public var name: String
    public var rowLabels: [String]
    public var columnLabels: [String]
    public var values: [[Int]]
    public var rowTitle: String
    public var columnTitle: String
    /// Where a cell links to (nil: no link).
    public var link: @Sendable (_ row: Int, _ column: Int) -> String?
    public var caption: String

    public init(name: String, rowLabels: [String], columnLabels: [String], values: [[Int]], rowTitle: String,
                columnTitle: String, caption: String, link: @escaping @Sendable (Int, Int) -> String? = { _, _ in nil }) {
        (self.name, self.rowLabels, self.columnLabels, self.values, self.rowTitle, self.columnTitle, self.caption) =
            (name, rowLabels, columnLabels, values, rowTitle, columnTitle, caption)
        self.link = link
    }

    public var html: String {
        let cell = 38.0, left = 70.0, top = 46.0
        let (rows, columns) = (Double(rowLabels.count), Double(columnLabels.count))
        let width = left + columns * cell + 12, height = top + rows * cell + 12
        let largest = Double(max(1, values.flatMap { $0 }.max() ?? 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(SVG.escape(caption))\" font-size=\"11\">"
        svg += "<text x=\"\(SVG.number(left + columns * cell / 2))\" y=\"14\" text-anchor=\"middle\" font-size=\"12\">\(SVG.escape(columnTitle))</text>"
        svg += "<text transform=\"translate(14 \(SVG.number(top + rows * cell / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">\(SVG.escape(rowTitle))</text>"
        for (column, label) in columnLabels.enumerated() {
            svg += "<text x=\"\(SVG.number(left + (Double(column) + 0.5) * cell))\" y=\"\(SVG.number(top - 8))\" text-anchor=\"middle\">\(SVG.escape(label))</text>"
        }
        for (row, label) in rowLabels.enumerated() {
            svg += "<text x=\"\(SVG.number(left - 8))\" y=\"\(SVG.number(top + (Double(row) + 0.5) * cell))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(SVG.escape(label))</text>"
            for column in columnLabels.indices {
                let value = values[row][column]
                // Square root so that the few errors off the diagonal still show.
                let shade = (Double(value) / largest).squareRoot()
                let color = row == column ? "rgba(18,183,106,\(SVG.number(0.08 + 0.9 * shade)))" : "rgba(240,68,56,\(SVG.number(value == 0 ? 0 : 0.12 + 0.85 * shade)))"
                var rect = "<rect class=\"cell\" x=\"\(SVG.number(left + Double(column) * cell))\" y=\"\(SVG.number(top + Double(row) * cell))\" width=\"\(SVG.number(cell - 1))\" height=\"\(SVG.number(cell - 1))\" fill=\"\(color)\"><title>\(SVG.escape(rowTitle)) \(SVG.escape(label)), \(SVG.escape(columnTitle)) \(SVG.escape(columnLabels[column])): \(value)</title></rect>"
                rect += "<text x=\"\(SVG.number(left + (Double(column) + 0.5) * cell))\" y=\"\(SVG.number(top + (Double(row) + 0.5) * cell))\" text-anchor=\"middle\" dominant-baseline=\"middle\" fill=\"\(shade > 0.6 ? "#fff" : "#101828")\">\(value)</text>"
                if value > 0, let target = link(row, column) {
                    rect = "<a class=\"cell-link\" href=\"\(SVG.escape(target))\">\(rect)</a>"
                }
                svg += rect
            }
        }
        return SVG.figure(name: name, svg: svg + "</svg>", caption: caption)
    }
}
