import MatrixKernels

/// A sparse matrix by rows, as ``GatherProduct`` reads it: row `r`'s terms are
/// `starts[r]..<ends[r]` of `indices` (its columns) and `coefficients`. Rows need not lie one
/// after the other, so a selection of rows shares the terms of the matrix it selects from.
struct SparseMatrix: Sendable {
    var rows = 0
    /// `rows` offsets each.
    var starts: [Int32] = []
    var ends: [Int32] = []
    var indices: [Int32] = []
    var coefficients: [Float] = []

    /// The transpose for a matrix of `columns` columns: row `c` of the result lists, in row order,
    /// the rows of this matrix that have a term in column `c` (a counting sort, so stable).
    func transposed(columns: Int) -> SparseMatrix {
        let terms = (0..<rows).reduce(0) { $0 + Int(ends[$1] - starts[$1]) }
        var counts = [Int32](repeating: 0, count: columns + 1)
        var result = SparseMatrix(rows: columns, indices: .uninitialized(count: terms), coefficients: .uninitialized(count: terms))
        // Per batch of a house-price network (~11K terms), so through raw memory.
        starts.withUnsafeBufferPointer { starts in
            ends.withUnsafeBufferPointer { ends in
                indices.withUnsafeBufferPointer { indices in
                    coefficients.withUnsafeBufferPointer { coefficients in
                        counts.withUnsafeMutableBufferPointer { counts in
                            for r in 0..<rows {
                                for t in Int(starts[r])..<Int(ends[r]) { counts[Int(indices[t]) + 1] += 1 }
                            }
                            for c in 0..<columns { counts[c + 1] += counts[c] }
                            result.starts = Array(counts[..<columns])
                            result.ends = Array(counts[1...])
                            // counts[c] becomes the next free slot of row c.
                            result.indices.withUnsafeMutableBufferPointer { rowOfTerm in
                                result.coefficients.withUnsafeMutableBufferPointer { coefficientOfTerm in
                                    for r in 0..<rows {
                                        for t in Int(starts[r])..<Int(ends[r]) {
                                            let column = Int(indices[t])
                                            let slot = Int(counts[column])
                                            rowOfTerm[slot] = Int32(r)
                                            coefficientOfTerm[slot] = coefficients[t]
                                            counts[column] += 1
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// The rows `selection` of this matrix, in that order (rows may repeat), e.g. a batch's rows
    /// of a whole dataset's terms: they share this matrix's terms (nothing is copied but their
    /// offsets). `reusing` lends its offset arrays' storage.
    func selectingRows<Rows: Collection<Int>>(_ selection: Rows, reusing storage: SparseMatrix?) -> SparseMatrix {
        var result = storage ?? SparseMatrix()
        result.rows = selection.count
        result.indices = indices
        result.coefficients = coefficients
        result.starts.removeAll(keepingCapacity: true)
        result.ends.removeAll(keepingCapacity: true)
        for row in selection {
            precondition(row >= 0 && row < rows, "SparseMatrix.selectingRows: row \(row) of \(rows)")
            result.starts.append(starts[row])
            result.ends.append(ends[row])
        }
        return result
    }

    /// Runs `body` with the kernels' view of the matrix.
    func withSparseRows<R>(_ body: (GatherProduct.SparseRows) -> R) -> R {
        starts.withUnsafeBufferPointer { s in
            ends.withUnsafeBufferPointer { e in
                indices.withUnsafeBufferPointer { i in
                    coefficients.withUnsafeBufferPointer { c in
                        // Empty arrays may have no address; the kernel reads none of them then.
                        let dummyIndex = Int32(0), dummyCoefficient = Float(0)
                        return withUnsafePointer(to: dummyIndex) { di in
                            withUnsafePointer(to: dummyCoefficient) { dc in
                                body(GatherProduct.SparseRows(rows: rows, starts: s.baseAddress ?? di, ends: e.baseAddress ?? di,
                                                              indices: i.baseAddress ?? di, coefficients: c.baseAddress ?? dc))
                            }
                        }
                    }
                }
            }
        }
    }
}
