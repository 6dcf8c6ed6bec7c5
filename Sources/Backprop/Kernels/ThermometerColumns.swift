import MatrixKernels

// Legend: n batch, in input features, out output features, g a group, k the ones it starts with.

/// Column groups of a network's input that hold piecewise-linear ("thermometer") encodings of
/// numbers: in every row, each group reads `1, …, 1, f, 0, …, 0` with `0 ≤ f < 1` (a number
/// against a group's bins: 1 for the bins it is above, its position inside the bin it falls in,
/// 0 above it).
///
/// A dense first layer multiplies such a group by its weights from two rows of a table instead of
/// every column: with `P[k] = Σ_{j<k} W[·, start + j]` (prefix sums of the weight's columns),
/// `W·x` over the group is `P[k] + f · W[·, start + k]`. House-price inputs are ~95 %
/// such columns, so their first layer becomes ~10× cheaper (see ``GatherProduct``). Results equal
/// the dense product up to the order of additions.
///
/// Set it on ``ExecutionContext/thermometerInput`` (or ``TrainingConfiguration/thermometerInput``):
/// a network whose first step is a dense layer then checks every batch against the groups and
/// takes the table path when all its rows fit (otherwise the dense product).
public struct ThermometerColumns: Sendable, Equatable {
    /// Sorted, disjoint, non-empty ranges of input columns.
    public let groups: [Range<Int>]

    /// - Precondition: `groups` are non-empty, non-negative, sorted and disjoint.
    public init(groups: [Range<Int>]) {
        precondition(groups.allSatisfy { !$0.isEmpty && $0.lowerBound >= 0 }
                        && zip(groups, groups.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound },
                     "ThermometerColumns: groups must be non-empty, sorted and disjoint")
        self.groups = groups
    }

    /// Whether every row of `inputs` `[rows, width]` fits the groups, i.e. whether a dense first
    /// layer would take the table path for them.
    public func matches(_ inputs: Tensor) -> Bool { encodeRows(inputs) != nil }

    /// Every row of `inputs` `[rows, width]` as terms of the table (see `encode`), or nil when a
    /// row does not fit: what a trainer encodes once and then selects each batch's rows from.
    func encodeRows(_ inputs: Tensor) -> SparseMatrix? {
        guard inputs.rank == 2, fits(width: inputs.shape[1]) else { return nil }
        return inputs.withUnsafeBufferPointer { encode($0, rows: inputs.shape[0], width: inputs.shape[1], reusing: nil) }
    }

    /// Columns that belong to no group, for an input of `width` columns.
    func denseColumns(width: Int) -> [Int] {
        var columns: [Int] = []
        var next = 0
        for group in groups {
            columns += next..<group.lowerBound
            next = group.upperBound
        }
        return columns + (next..<width)
    }

    /// Whether every group lies inside an input of `width` columns.
    func fits(width: Int) -> Bool { (groups.last?.upperBound ?? 0) <= width }

    /// Rows of the table for an input of `width` columns: the weight's columns, then each group's
    /// `count + 1` prefix sums.
    func tableRows(width: Int) -> Int { width + groups.reduce(0) { $0 + $1.count + 1 } }

    /// Writes each row of `input` `[rows, width]` as terms of the table: `(column, value)` for
    /// each dense column, and `(P[k], 1)`, `(start + k, f)` for each group, leaving out the terms
    /// that add nothing: a value or fraction of 0, and `P[0]`, a row of zeros. Returns nil when a
    /// row does not fit its groups. `reusing` lends its arrays' storage.
    func encode(_ input: UnsafeBufferPointer<Float>, rows: Int, width: Int, reusing storage: SparseMatrix?) -> SparseMatrix? {
        let dense = denseColumns(width: width)
        let mostTerms = dense.count + 2 * groups.count
        var matrix = storage ?? SparseMatrix()
        matrix.rows = rows
        matrix.starts.resize(to: rows)
        matrix.ends.resize(to: rows)
        matrix.indices.resize(to: rows * mostTerms)
        matrix.coefficients.resize(to: rows * mostTerms)
        // Per group: its first column, its end, and its first prefix row.
        var bounds: [Int] = []
        var nextRow = width
        for group in groups {
            bounds += [group.lowerBound, group.upperBound, nextRow]
            nextRow += group.count + 1
        }
        let terms = bounds.withUnsafeBufferPointer { bounds in
            dense.withUnsafeBufferPointer { dense in
                matrix.starts.withUnsafeMutableBufferPointer { starts in
                    matrix.ends.withUnsafeMutableBufferPointer { ends in
                        matrix.indices.withUnsafeMutableBufferPointer { index in
                            matrix.coefficients.withUnsafeMutableBufferPointer { coefficient -> Int? in
                                var t = 0
                                for r in 0..<rows {
                                    let x = input.baseAddress! + r * width
                                    starts[r] = Int32(t)
                                    for column in dense where x[column] != 0 {
                                        index[t] = Int32(column)
                                        coefficient[t] = x[column]
                                        t += 1
                                    }
                                    for g in stride(from: 0, to: bounds.count, by: 3) {
                                        let (lower, upper, prefix) = (bounds[g], bounds[g + 1], bounds[g + 2])
                                        var k = lower
                                        while k < upper && x[k] == 1 { k += 1 }
                                        var fraction: Float = 0
                                        if k < upper {
                                            fraction = x[k]
                                            // Also refuses NaN, which fails every comparison.
                                            guard fraction >= 0 && fraction < 1 else { return nil }
                                            var j = k + 1
                                            while j < upper {
                                                guard x[j] == 0 else { return nil }
                                                j += 1
                                            }
                                        }
                                        if k > lower {
                                            index[t] = Int32(prefix + k - lower)
                                            coefficient[t] = 1
                                            t += 1
                                        }
                                        if fraction != 0 {
                                            index[t] = Int32(k)
                                            coefficient[t] = fraction
                                            t += 1
                                        }
                                    }
                                    ends[r] = Int32(t)
                                }
                                return t
                            }
                        }
                    }
                }
            }
        }
        guard let terms else { return nil }
        matrix.indices.resize(to: terms)
        matrix.coefficients.resize(to: terms)
        return matrix
    }

    /// The table for `weight` `[out, width]`: row `i < width` is the weight's column `i`; then per
    /// group its prefix sums `P[0] = 0, P[k + 1] = P[k] + column start + k`. `[tableRows, out]`.
    func table(weight: Tensor, width: Int, kernels: KernelPath) -> [Float] {
        let outputs = weight.shape[0]
        return [Float](unsafeUninitializedCapacity: tableRows(width: width) * outputs) { table, initialized in
            weight.withUnsafeBufferPointer { w in
                kernels.transpose(w.baseAddress!, rows: outputs, columns: width, sourceStride: width,
                                  into: table.baseAddress!, destinationStride: outputs, adding: false)
            }
            var row = width
            for group in groups {
                let start = table.baseAddress! + row * outputs
                start.initialize(repeating: 0, count: outputs)
                for j in 0..<group.count {
                    let (previous, column) = (start + j * outputs, table.baseAddress! + (group.lowerBound + j) * outputs)
                    let next = start + (j + 1) * outputs
                    for o in 0..<outputs { next[o] = previous[o] + column[o] }
                }
                row += group.count + 1
            }
            initialized = table.count
        }
    }

    /// Adds to `weightGradient` `[out, width]` what the gradient of the table (`[tableRows, out]`,
    /// laid out as ``table(weight:width:kernels:)``) says about the weight: column `i` of the weight enters
    /// its own row and, in a group, every prefix row `P[k]` with `k` past it.
    func addWeightGradient(table gradient: inout [Float], outputs: Int, width: Int,
                           into weightGradient: UnsafeMutablePointer<Float>, kernels: KernelPath) {
        gradient.withUnsafeMutableBufferPointer { table in
            var row = width
            for group in groups {
                // Running suffix sums of the prefix rows' gradients, added to the columns below them.
                let prefix = table.baseAddress! + row * outputs
                var suffix = prefix + group.count * outputs
                for j in stride(from: group.count - 1, through: 0, by: -1) {
                    let column = table.baseAddress! + (group.lowerBound + j) * outputs
                    for o in 0..<outputs { column[o] += suffix[o] }
                    // P[j]'s gradient joins the running sum for the columns below j.
                    let current = prefix + j * outputs
                    if j > 0 { for o in 0..<outputs { current[o] += suffix[o] } }
                    suffix = current
                }
                row += group.count + 1
            }
            // weightGradient[o, i] += table[i, o]
            kernels.transpose(table.baseAddress!, rows: width, columns: outputs, sourceStride: outputs,
                              into: weightGradient, destinationStride: width, adding: true)
        }
    }
}
