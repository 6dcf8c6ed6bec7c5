import Foundation

/// One axis of a chart: what it measures, its range, linear or logarithmic, and its ticks.
public struct Axis: Sendable, Equatable {
    public var label: String
    public var range: ClosedRange<Double>
    public var logarithmic: Bool
    /// Ticks at whole numbers only (epochs, counts).
    public var integral = false

    /// `range` is widened to "nice" bounds (the outer ticks) unless `exact`; a logarithmic axis
    /// needs a range above 0.
    public init(_ label: String, range: ClosedRange<Double>, logarithmic: Bool = false, exact: Bool = false) {
        self.label = label
        self.logarithmic = logarithmic
        var range = range
        if range.lowerBound == range.upperBound {
            let pad = range.lowerBound == 0 ? 1 : abs(range.lowerBound) * 0.1
            range = (range.lowerBound - pad)...(range.upperBound + pad)
        }
        if logarithmic {
            precondition(range.lowerBound > 0, "Axis: a logarithmic axis needs values above 0")
            self.range = exact ? range : pow(10, floor(log10(range.lowerBound)))...pow(10, ceil(log10(range.upperBound)))
        } else if exact {
            self.range = range
        } else {
            let step = Axis.niceStep(range.upperBound - range.lowerBound)
            self.range = (floor(range.lowerBound / step) * step)...(ceil(range.upperBound / step) * step)
        }
    }

    /// An axis of whole numbers from `first` to `last` (epochs), ticked at whole numbers.
    public static func integers(_ label: String, from first: Int, to last: Int) -> Axis {
        var axis = Axis(label, range: Double(first)...Double(max(first + 1, last)), exact: true)
        axis.integral = true
        return axis
    }

    /// The axis of `values` (finite ones), padded to nice bounds.
    public init(_ label: String, fitting values: [Double], logarithmic: Bool = false, includingZero: Bool = false) {
        let finite = values.filter { $0.isFinite && (!logarithmic || $0 > 0) }
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if includingZero && !logarithmic { (low, high) = (min(low, 0), max(high, 0)) }
        if logarithmic && finite.isEmpty { (low, high) = (1, 10) }
        self.init(label, range: low...high, logarithmic: logarithmic)
    }

    /// A step of 1, 2 or 5 times a power of ten giving about five intervals over `span`.
    public static func niceStep(_ span: Double) -> Double {
        guard span > 0, span.isFinite else { return 1 }
        let raw = span / 5
        let magnitude = pow(10, floor(log10(raw)))
        let fraction = raw / magnitude
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude
    }

    /// Where ticks go: multiples of the nice step (linear), or powers of ten (logarithmic).
    public var ticks: [Double] {
        if logarithmic {
            let (low, high) = (Int(floor(log10(range.lowerBound))), Int(ceil(log10(range.upperBound))))
            return (low...high).map { pow(10, Double($0)) }.filter { range.contains($0 * (1 - 1e-9)) || range.contains($0) }
        }
        let step = integral ? max(1, Axis.niceStep(range.upperBound - range.lowerBound))
                            : Axis.niceStep(range.upperBound - range.lowerBound)
        var ticks: [Double] = []
        var value = ceil(range.lowerBound / step - 1e-9) * step
        while value <= range.upperBound + step * 1e-9 {
            ticks.append(abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return ticks
    }

    /// `value`'s position along the axis, 0 at the lower bound and 1 at the upper (clamped).
    public func fraction(_ value: Double) -> Double {
        let position = logarithmic
            ? (log10(max(value, range.lowerBound)) - log10(range.lowerBound)) / (log10(range.upperBound) - log10(range.lowerBound))
            : (value - range.lowerBound) / (range.upperBound - range.lowerBound)
        return min(1, max(0, position.isFinite ? position : 0))
    }

    /// A label for a value: no needless decimals, k and M for large numbers at three significant
    /// digits (500,001 → "500k", 81,500 → "81.5k").
    public static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1_000_000 { return trimmed(significant(value / 1_000_000)) + "M" }
        if magnitude >= 10_000 { return trimmed(significant(value / 1_000)) + "k" }
        return trimmed(value)
    }

    /// `value` rounded to three significant digits.
    private static func significant(_ value: Double) -> Double {
        guard value != 0 else { return 0 }
        let scale = pow(10, 2 - floor(log10(abs(value))))
        return (value * scale).rounded() / scale
    }

    private static func trimmed(_ value: Double) -> String {
        if value == value.rounded() { return String(Int(value)) }
        var text = String(format: "%.4f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
