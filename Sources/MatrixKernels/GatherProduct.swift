// Legend: r row, t term of a row, c column of the table and of the output.

/// A sparse matrix (compressed rows) times a dense table:
///
///     output[r, c] += Σ_t coefficients[t] · table[indices[t], c]   for t in starts[r]..<ends[r]
///
/// This is a dense layer whose input rows are mostly zeros, ones or repeats once the weights are
/// rearranged into a table of rows (see `ThermometerColumns` in Backprop): a handful of table rows
/// per input row instead of a product with every input column. Its weight gradient is the same
/// product with the sparse matrix transposed (each table row gathers the output-gradient rows
/// that used it), which keeps the sums in registers instead of adding into table rows in memory.
///
/// It runs over the columns `columns` only, so that threads can split the columns between them;
/// within a column, a row's terms are added in order, so results do not depend on how the columns
/// are split. Multiply-adds take the instantiation's form (`M`), as the GEMM's do.
public enum GatherProduct {
    /// The sparse matrix: row `r`'s terms are `starts[r]..<ends[r]` of `indices` (rows of the
    /// table) and `coefficients`. Rows need not lie one after the other: a batch's rows can be
    /// read where a whole dataset's terms lie.
    public struct SparseRows {
        public let rows: Int
        /// `rows` offsets each.
        public let starts: UnsafePointer<Int32>
        public let ends: UnsafePointer<Int32>
        public let indices: UnsafePointer<Int32>
        public let coefficients: UnsafePointer<Float>

        public init(rows: Int, starts: UnsafePointer<Int32>, ends: UnsafePointer<Int32>, indices: UnsafePointer<Int32>,
                    coefficients: UnsafePointer<Float>) {
            (self.rows, self.starts, self.ends, self.indices, self.coefficients) = (rows, starts, ends, indices, coefficients)
        }
    }

    /// `output[r·outputStride + c] += Σ_t coefficients[t] · table[indices[t]·tableStride + c]` over
    /// row `r`'s terms, for `r` in `0..<rows`, `c` in `columns`; `=` instead of `+=` when not
    /// `accumulate` (the output need not be initialised then: a row without terms gets zeros).
    /// - Precondition: every index is a row of the table; `columns` fits the table and the output.
    @inlinable
    public static func gather<M: MultiplyAdd>(_: M.Type, _ sparse: SparseRows, table: UnsafePointer<Float>, tableStride: Int,
                                              output: UnsafeMutablePointer<Float>, outputStride: Int,
                                              columns: Range<Int>, accumulate: Bool = true) {
        typealias V = M.Vector
        let (rows, starts, ends) = (sparse.rows, sparse.starts, sparse.ends)
        let (indices, coefficients) = (sparse.indices, sparse.coefficients)
        let lanes = V.scalarCount
        let tableBytes = UnsafeRawPointer(table)
        for r in 0..<rows {
            let first = Int(starts[r])
            let (rowIndices, rowCoefficients, terms) = (indices + first, coefficients + first, Int(ends[r]) - first)
            let out = UnsafeMutableRawPointer(output + r * outputStride)
            /// The row's output vector at column `column` before its terms: what it holds, or 0.
            func initial(_ column: Int) -> V { accumulate ? out.loadUnaligned(fromByteOffset: column * 4, as: V.self) : V() }
            var c = columns.lowerBound
            // Eight vectors of the row's output at a time stay in registers over all its terms
            // (a 128-wide layer's whole row with AVX-512): each term's index is read once per
            // eight vectors, and eight loads of its table row are in flight at once.
            while c + 8 * lanes <= columns.upperBound {
                var acc0 = initial(c)
                var acc1 = initial(c + lanes)
                var acc2 = initial(c + 2 * lanes)
                var acc3 = initial(c + 3 * lanes)
                var acc4 = initial(c + 4 * lanes)
                var acc5 = initial(c + 5 * lanes)
                var acc6 = initial(c + 6 * lanes)
                var acc7 = initial(c + 7 * lanes)
                for t in 0..<terms {
                    let source = (Int(rowIndices[t]) * tableStride + c) * 4
                    let coefficient = V(repeating: rowCoefficients[t])
                    func term(_ vector: Int) -> V {
                        tableBytes.loadUnaligned(fromByteOffset: source + vector * lanes * 4, as: V.self)
                    }
                    acc0 = M.multiplyAdd(acc0, coefficient, term(0))
                    acc1 = M.multiplyAdd(acc1, coefficient, term(1))
                    acc2 = M.multiplyAdd(acc2, coefficient, term(2))
                    acc3 = M.multiplyAdd(acc3, coefficient, term(3))
                    acc4 = M.multiplyAdd(acc4, coefficient, term(4))
                    acc5 = M.multiplyAdd(acc5, coefficient, term(5))
                    acc6 = M.multiplyAdd(acc6, coefficient, term(6))
                    acc7 = M.multiplyAdd(acc7, coefficient, term(7))
                }
                out.storeBytes(of: acc0, toByteOffset: c * 4, as: V.self)
                out.storeBytes(of: acc1, toByteOffset: (c + lanes) * 4, as: V.self)
                out.storeBytes(of: acc2, toByteOffset: (c + 2 * lanes) * 4, as: V.self)
                out.storeBytes(of: acc3, toByteOffset: (c + 3 * lanes) * 4, as: V.self)
                out.storeBytes(of: acc4, toByteOffset: (c + 4 * lanes) * 4, as: V.self)
                out.storeBytes(of: acc5, toByteOffset: (c + 5 * lanes) * 4, as: V.self)
                out.storeBytes(of: acc6, toByteOffset: (c + 6 * lanes) * 4, as: V.self)
                out.storeBytes(of: acc7, toByteOffset: (c + 7 * lanes) * 4, as: V.self)
                c += 8 * lanes
            }
            // Four vectors at a time: four independent multiply-add chains, as the latency of one
            // would otherwise bound the loop.
            while c + 4 * lanes <= columns.upperBound {
                var acc0 = initial(c)
                var acc1 = initial(c + lanes)
                var acc2 = initial(c + 2 * lanes)
                var acc3 = initial(c + 3 * lanes)
                for t in 0..<terms {
                    let source = (Int(rowIndices[t]) * tableStride + c) * 4
                    let coefficient = V(repeating: rowCoefficients[t])
                    acc0 = M.multiplyAdd(acc0, coefficient, tableBytes.loadUnaligned(fromByteOffset: source, as: V.self))
                    acc1 = M.multiplyAdd(acc1, coefficient,
                                         tableBytes.loadUnaligned(fromByteOffset: source + lanes * 4, as: V.self))
                    acc2 = M.multiplyAdd(acc2, coefficient,
                                         tableBytes.loadUnaligned(fromByteOffset: source + 2 * lanes * 4, as: V.self))
                    acc3 = M.multiplyAdd(acc3, coefficient,
                                         tableBytes.loadUnaligned(fromByteOffset: source + 3 * lanes * 4, as: V.self))
                }
                out.storeBytes(of: acc0, toByteOffset: c * 4, as: V.self)
                out.storeBytes(of: acc1, toByteOffset: (c + lanes) * 4, as: V.self)
                out.storeBytes(of: acc2, toByteOffset: (c + 2 * lanes) * 4, as: V.self)
                out.storeBytes(of: acc3, toByteOffset: (c + 3 * lanes) * 4, as: V.self)
                c += 4 * lanes
            }
            // Up to three vectors left: one at a time.
            while c + lanes <= columns.upperBound {
                var acc = initial(c)
                for t in 0..<terms {
                    let source = (Int(rowIndices[t]) * tableStride + c) * 4
                    acc = M.multiplyAdd(acc, V(repeating: rowCoefficients[t]),
                                        tableBytes.loadUnaligned(fromByteOffset: source, as: V.self))
                }
                out.storeBytes(of: acc, toByteOffset: c * 4, as: V.self)
                c += lanes
            }
            // The last columns, one lane at a time, with the same multiply-add form.
            while c < columns.upperBound {
                var acc = V(repeating: 0)
                if accumulate { acc[0] = output[r * outputStride + c] }
                for t in 0..<terms {
                    var product = V(repeating: 0)
                    product[0] = table[Int(rowIndices[t]) * tableStride + c]
                    acc = M.multiplyAdd(acc, V(repeating: rowCoefficients[t]), product)
                }
                output[r * outputStride + c] = acc[0]
                c += 1
            }
        }
    }
}
