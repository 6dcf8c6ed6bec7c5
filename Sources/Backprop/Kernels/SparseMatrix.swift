import MatrixKernels

/// A sparse matrix in compressed rows, as ``GatherProduct`` reads it: row `r`'s terms are
/// `starts[r]..<starts[r + 1]` of `indices` (its columns) and `coefficients`.
struct SparseMatrix: Sendable {
    var rows = 0
    /// `rows + 1` offsets, non-decreasing, from 0.
    var starts: [Int32] = [0]
    var indices: [Int32] = []
    var coefficients: [Float] = []

    /// The transpose for a matrix of `columns` columns: row `c` of the result lists, in row order,
    /// the rows of this matrix that have a term in column `c` (a counting sort, so stable).
    func transposed(columns: Int) -> SparseMatrix {
        var counts = [Int32](repeating: 0, count: columns + 1)
        var result = SparseMatrix(rows: columns, starts: [], indices: .uninitialized(count: indices.count),
                                  coefficients: .uninitialized(count: indices.count))
        // Per batch of a house-price network (~11K terms), so through raw memory.
        starts.withUnsafeBufferPointer { starts in
            indices.withUnsafeBufferPointer { indices in
                coefficients.withUnsafeBufferPointer { coefficients in
                    counts.withUnsafeMutableBufferPointer { counts in
                        for column in indices { counts[Int(column) + 1] += 1 }
                        for c in 0..<columns { counts[c + 1] += counts[c] }
                        result.starts = Array(counts)
                        // counts[c] becomes the next free slot of row c.
                        result.indices.withUnsafeMutableBufferPointer { rowOfTerm in
                            result.coefficients.withUnsafeMutableBufferPointer { coefficientOfTerm in
                                for r in 0..<rows {
                                    for t in Int(starts[r])..<Int(starts[r + 1]) {
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
        return result
    }

    /// The rows `selection` of this matrix, in that order (rows may repeat), e.g. a batch's rows
    /// of a whole dataset's terms. `reusing` lends its arrays' storage.
    func selectingRows<Rows: Collection<Int>>(_ selection: Rows, reusing storage: SparseMatrix?) -> SparseMatrix {
        var result = storage ?? SparseMatrix()
        result.rows = selection.count
        result.starts.resize(to: selection.count + 1)
        var count = 0
        for row in selection {
            precondition(row >= 0 && row < rows, "SparseMatrix.selectingRows: row \(row) of \(rows)")
            count += Int(starts[row + 1] - starts[row])
        }
        result.indices.resize(to: count)
        result.coefficients.resize(to: count)
        starts.withUnsafeBufferPointer { starts in
            indices.withUnsafeBufferPointer { indices in
                coefficients.withUnsafeBufferPointer { coefficients in
                    result.starts.withUnsafeMutableBufferPointer { newStarts in
                        result.indices.withUnsafeMutableBufferPointer { newIndices in
                            result.coefficients.withUnsafeMutableBufferPointer { newCoefficients in
                                var (next, r) = (0, 0)
                                newStarts[0] = 0
                                for row in selection {
                                    let (first, terms) = (Int(starts[row]), Int(starts[row + 1] - starts[row]))
                                    if terms > 0 {
                                        (newIndices.baseAddress! + next).update(from: indices.baseAddress! + first, count: terms)
                                        (newCoefficients.baseAddress! + next).update(from: coefficients.baseAddress! + first,
                                                                                     count: terms)
                                    }
                                    next += terms
                                    r += 1
                                    newStarts[r] = Int32(next)
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Runs `body` with the kernels' view of the matrix.
    func withSparseRows<R>(_ body: (GatherProduct.SparseRows) -> R) -> R {
        starts.withUnsafeBufferPointer { s in
            indices.withUnsafeBufferPointer { i in
                coefficients.withUnsafeBufferPointer { c in
                    // Empty arrays may have no address; the kernel reads none of them then.
                    let dummyIndex = Int32(0), dummyCoefficient = Float(0)
                    return withUnsafePointer(to: dummyIndex) { di in
                        withUnsafePointer(to: dummyCoefficient) { dc in
                            body(GatherProduct.SparseRows(rows: rows, starts: s.baseAddress!, indices: i.baseAddress ?? di,
                                                          coefficients: c.baseAddress ?? dc))
                        }
                    }
                }
            }
        }
    }
}
