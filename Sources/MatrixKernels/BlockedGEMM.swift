// Cache-blocked, packed GEMM in the BLIS/GotoBLAS shape, generic over the register micro-kernel.
//
// Legend: m, n, k are the product's dimensions; MR×NR the micro-kernel tile; KC the depth block
// (a B panel's KC×NR block, 32 KB, stays in L1 while it meets every A panel of the tile); MC×NC
// the tile of C one task computes.
//
// Both operands are packed once, in parallel, into panels the micro-kernel streams through
// contiguously (unless the caller packed them, or op(B) can be read in place, below); tasks then
// share them. (Packing per task instead repeated the packing of the shared operand for every
// tile: the batch-64 dense layer, 64×128×9216, ran at 150 GFLOP/s.)
//
// Every element of C is computed by exactly one task, summing over k in the same order (KC blocks
// ascending, then k ascending within the micro-kernel) whatever the tiling, so results do not
// depend on the thread count.

/// GEMM on one micro-kernel. Instantiate it from a module compiled for the kernel's target CPU.
public enum BlockedGEMM<Kernel: MicroKernel> {
    public typealias Vector = Kernel.Vector

    /// KC: depth of one packed block.
    @inlinable static var depthBlock: Int { MatrixProduct.depthBlock }
    /// MC: rows of C per task, a multiple of MR.
    @inlinable static var rowBlock: Int { Kernel.rows &* 12 }
    /// NC: columns of C per task, a multiple of NR.
    @inlinable static var columnBlock: Int { 512 }
    /// Below this many flops (~150 µs on one core) a second thread costs more than it saves.
    @inlinable static var parallelFlopThreshold: Double { 3.2e7 }

    /// Computes `p` on up to `threads` threads, taking scratch memory from `pool`.
    @inlinable
    public static func multiply(_ p: MatrixProduct, threads: Int, pool: WorkspacePool = .shared) {
        if p.m == 0 || p.n == 0 { return }
        if p.k == 0 {
            if !p.accumulate {
                for i in 0..<p.m { (p.c + i &* p.cRowStride).update(repeating: 0, count: p.n) }
            }
            return
        }
        if p.m <= MatrixProduct.fewRows && p.b.isTransposed && !p.a.isTransposed && !p.a.isPacked && !p.b.isPacked {
            multiplyFewRows(p, threads: threads)
            return
        }
        let mr = Kernel.rows, nr = Kernel.columns
        let panelCount = (p.n &+ nr &- 1) / nr
        let workers = threads > 1 && (p.flops >= parallelFlopThreshold || Parallel.workersAreAwake && p.flops >= 2e6)
            ? threads : 1

        // Shrink tiles until there are a few tasks per worker, so that a worker slowed by another
        // process leaves its share to the others instead of holding everyone up.
        var mc = min(rowBlock, roundUp(p.m, to: mr))
        var nc = min(columnBlock, panelCount &* nr)
        if workers > 1 {
            while tileCount(p, mc, nc) < 4 &* workers {
                if nc > nr && nc >= mc { nc = max(nr, (nc / 2) / nr &* nr) }
                else if mc > mr { mc = max(mr, (mc / 2) / mr &* mr) }
                else if nc > nr { nc = max(nr, (nc / 2) / nr &* nr) }
                else { break }
            }
        }
        let rowTiles = (p.m &+ mc &- 1) / mc
        let columnTiles = (p.n &+ nc &- 1) / nc
        let rowPanels = (p.m &+ mr &- 1) / mr
        // A row-major op(B) met by a single row tile is read in place: each of its elements is
        // read once either way, so packing would only copy it (a convolution's forward product,
        // B its im2col columns: 205 → 248 GFLOP/s). Only a ragged last panel, which the kernel
        // would read past the end of B's rows, is packed. Not when the row stride is a multiple
        // of 512 bytes: a panel's k groups would then fall in at most 8 of L1's sets and evict
        // each other (a 64×9216×128 product ran 16 % slower).
        let inPlaceB = !p.b.isPacked && !p.b.isTransposed && rowTiles == 1
            && (p.b.rowStride &* MemoryLayout<Float>.stride) % 512 != 0
        // Panels before this one are read in place; the rest are packed (by the caller, or below).
        let firstPackedBPanel = inPlaceB ? p.n / nr : 0

        pool.withWorkspace { shared in
            // Phase 1: pack op(A) into [panel][k][MR] and op(B) into [panel][k][NR], zero-padded,
            // each element exactly once, unless the caller packed them; panels are independent tasks.
            let aPanels = p.a.isPacked ? 0 : rowPanels
            let bPanelsToPack = p.b.isPacked ? 0 : panelCount &- firstPackedBPanel
            let aCount = aPanels &* mr &* p.k
            let scratch = shared.floats(aCount &+ bPanelsToPack &* nr &* p.k)
            let packedA = p.a.isPacked ? UnsafeMutablePointer(mutating: p.a.base) : scratch
            let bPanels = BPanels(p, packed: p.b.isPacked ? UnsafeMutablePointer(mutating: p.b.base) : scratch + aCount,
                                  firstPacked: firstPackedBPanel)
            let panelsPerTask = max(1, (aPanels &+ bPanelsToPack) / (4 &* workers))
            let aTasks = (aPanels &+ panelsPerTask &- 1) / panelsPerTask
            let bTasks = (bPanelsToPack &+ panelsPerTask &- 1) / panelsPerTask
            Parallel.forEach(tasks: aTasks &+ bTasks, threads: workers) { task in
                if task < aTasks {
                    let first = task &* panelsPerTask
                    for panel in first..<min(rowPanels, first &+ panelsPerTask) {
                        PanelPacking.packPanel(p.a, rows: p.m, depth: p.k, width: mr, panel: panel,
                                               into: packedA + panel &* mr &* p.k)
                    }
                } else {
                    let first = firstPackedBPanel &+ (task &- aTasks) &* panelsPerTask
                    for panel in first..<min(panelCount, first &+ panelsPerTask) {
                        // op(B)'s column panels are the row panels of op(B)ᵀ.
                        PanelPacking.packPanel(p.b.transposedView, rows: p.n, depth: p.k, width: nr, panel: panel,
                                               into: bPanels.panel(panel, depthStart: 0).base)
                    }
                }
            }
            // Phase 2: each task computes one mc×nc tile of C from the packed panels.
            Parallel.forEach(tasks: rowTiles &* columnTiles, threads: workers) { task in
                let rowStart = (task / columnTiles) &* mc
                let columnStart = (task % columnTiles) &* nc
                withUnsafeTemporaryAllocation(of: Float.self, capacity: mr &* nr) { edgeTile in
                    computeTile(p, packedA: packedA, bPanels: bPanels,
                                rows: rowStart..<min(p.m, rowStart &+ mc),
                                columns: columnStart..<min(p.n, columnStart &+ nc),
                                edgeTile: edgeTile.baseAddress!)
                }
            }
        }
    }

    /// Where the micro-kernel finds op(B)'s column panels: for panels before `firstPacked`, in
    /// op(B) itself (row-major), NR floats of a row per k; from `firstPacked` on, packed
    /// (`[panel][k][NR]`, the first of them at `packed`).
    @usableFromInline
    struct BPanels {
        @usableFromInline let b: MatrixOperand
        @usableFromInline let packed: UnsafeMutablePointer<Float>
        @usableFromInline let firstPacked: Int
        @usableFromInline let depth: Int

        @inlinable
        init(_ p: MatrixProduct, packed: UnsafeMutablePointer<Float>, firstPacked: Int) {
            (self.b, self.packed, self.firstPacked, self.depth) = (p.b, packed, firstPacked, p.k)
        }

        /// Panel `panel` from depth `depthStart` on, and the distance in floats between its k groups.
        @inlinable @inline(__always)
        func panel(_ panel: Int, depthStart: Int) -> (base: UnsafeMutablePointer<Float>, stride: Int) {
            let nr = Kernel.columns
            if panel < firstPacked {
                return (UnsafeMutablePointer(mutating: b.base) + (depthStart &* b.rowStride &+ panel &* nr), b.rowStride)
            }
            return (packed + ((panel &- firstPacked) &* depth &+ depthStart) &* nr, nr)
        }
    }

    /// C (+)= A·Bᵀ for at most `MatrixProduct.fewRows` rows of A, as dot products of contiguous rows, without packing.
    ///
    /// This is a dense layer at batch 1-4 (B is its weight `[out, in]`): the work is one pass
    /// over the weights, and packing them first (what the blocked path does) would cost more than
    /// the arithmetic. Each B row is loaded once and meets every A row in registers.
    @inlinable
    static func multiplyFewRows(_ p: MatrixProduct, threads: Int) {
        let width = Vector.scalarCount
        // Memory-bound: a second thread pays once the weights exceed ~1 MB, or ~8 MB for one row,
        // which one core streams at ~100 GB/s (a sleeping worker joins ~40 µs late: with two
        // threads, the one-image dense 9216→128 layer, 4.7 MB, took 56 µs instead of 47).
        let columnsPerTask = 16
        let tasks = (p.n &+ columnsPerTask &- 1) / columnsPerTask
        let workers = threads > 1 && p.n &* p.k >= (Parallel.workersAreAwake ? 1 << 16 : p.m == 1 ? 1 << 21 : 1 << 18)
            ? threads : 1
        if p.m == 1 {
            multiplyOneRow(p, tasks: tasks, columnsPerTask: columnsPerTask, workers: workers)
            return
        }
        // Rows past m repeat the last one; their sums are computed and dropped.
        let last = p.m &- 1
        let (r0, r1, r2, r3) = (p.a.base, p.a.base + min(1, last) &* p.a.rowStride,
                                p.a.base + min(2, last) &* p.a.rowStride, p.a.base + min(3, last) &* p.a.rowStride)
        Parallel.forEach(tasks: tasks, threads: workers) { task in
            for j in (task &* columnsPerTask)..<min(p.n, (task &+ 1) &* columnsPerTask) {
                let b = UnsafeRawPointer(p.b.base + j &* p.b.rowStride)
                let (a0, a1, a2, a3) = (UnsafeRawPointer(r0), UnsafeRawPointer(r1), UnsafeRawPointer(r2), UnsafeRawPointer(r3))
                var (s0, s1, s2, s3) = (Vector(), Vector(), Vector(), Vector())
                var l = 0
                while l &+ width <= p.k {
                    let offset = l &* MemoryLayout<Float>.stride
                    let bv = b.loadUnaligned(fromByteOffset: offset, as: Vector.self)
                    s0 = Kernel.Arithmetic.multiplyAdd(s0, a0.loadUnaligned(fromByteOffset: offset, as: Vector.self), bv)
                    s1 = Kernel.Arithmetic.multiplyAdd(s1, a1.loadUnaligned(fromByteOffset: offset, as: Vector.self), bv)
                    s2 = Kernel.Arithmetic.multiplyAdd(s2, a2.loadUnaligned(fromByteOffset: offset, as: Vector.self), bv)
                    s3 = Kernel.Arithmetic.multiplyAdd(s3, a3.loadUnaligned(fromByteOffset: offset, as: Vector.self), bv)
                    l &+= width
                }
                var (t0, t1, t2, t3) = (s0.sum(), s1.sum(), s2.sum(), s3.sum())
                while l < p.k {
                    let bl = p.b.base[j &* p.b.rowStride &+ l]
                    t0 += r0[l] * bl
                    t1 += r1[l] * bl
                    t2 += r2[l] * bl
                    t3 += r3[l] * bl
                    l &+= 1
                }
                func store(_ row: Int, _ total: Float) {
                    guard row < p.m else { return }
                    let c = p.c + (row &* p.cRowStride &+ j)
                    c.pointee = p.accumulate ? c.pointee + total : total
                }
                store(0, t0)
                store(1, t1)
                store(2, t2)
                store(3, t3)
            }
        }
    }

    /// `multiplyFewRows` for one row of A (a single image or sample): four accumulators along k,
    /// so that consecutive multiply-adds do not wait for each other (with one chain per row, a
    /// one-image dense 9216→128 layer ran at the multiply-add latency: 77 µs), and four columns
    /// (rows of B) at a time, so that each vector of A is loaded once for four of B's and four
    /// streams of B are in flight (one column at a time, the same layer read its 4.7 MB of
    /// weights at ~70 GB/s, 67 µs; four at a time, 47 µs with AVX-512, 52 with AVX2). Not with
    /// 4-lane vectors: the portable kernel's separate multiply and add spill the sixteen
    /// accumulators (75 → 90 µs). Every column sums in the same order either way.
    @inlinable
    static func multiplyOneRow(_ p: MatrixProduct, tasks: Int, columnsPerTask: Int, workers: Int) {
        let fourAtATime = Vector.scalarCount >= 8
        Parallel.forEach(tasks: tasks, threads: workers) { task in
            let end = min(p.n, (task &+ 1) &* columnsPerTask)
            var j = task &* columnsPerTask
            while fourAtATime && j &+ 4 <= end {
                dotFourColumns(p, from: j)
                j &+= 4
            }
            while j < end {
                dotOneColumn(p, j)
                j &+= 1
            }
        }
    }

    /// C[0, j] (+)= A[0, :] · B[j, :] with four accumulators along k.
    @inlinable @inline(__always)
    static func dotOneColumn(_ p: MatrixProduct, _ j: Int) {
        let width = Vector.scalarCount
        let step = width &* MemoryLayout<Float>.stride
        let a = UnsafeRawPointer(p.a.base)
        let b = UnsafeRawPointer(p.b.base + j &* p.b.rowStride)
        var (s0, s1, s2, s3) = (Vector(), Vector(), Vector(), Vector())
        var l = 0
        while l &+ 4 &* width <= p.k {
            let offset = l &* MemoryLayout<Float>.stride
            s0 = fma(s0, load(a, offset), b, offset)
            s1 = fma(s1, load(a, offset &+ step), b, offset &+ step)
            s2 = fma(s2, load(a, offset &+ 2 &* step), b, offset &+ 2 &* step)
            s3 = fma(s3, load(a, offset &+ 3 &* step), b, offset &+ 3 &* step)
            l &+= 4 &* width
        }
        while l &+ width <= p.k {
            let offset = l &* MemoryLayout<Float>.stride
            s0 = fma(s0, load(a, offset), b, offset)
            l &+= width
        }
        var total = ((s0 + s1) + (s2 + s3)).sum()
        while l < p.k {
            total += p.a.base[l] * p.b.base[j &* p.b.rowStride &+ l]
            l &+= 1
        }
        p.c[j] = p.accumulate ? p.c[j] + total : total
    }

    /// `dotOneColumn` for columns j..<j+4 at once: the same sums in the same order, sixteen
    /// accumulators.
    @inlinable @inline(__always)
    static func dotFourColumns(_ p: MatrixProduct, from j: Int) {
        let width = Vector.scalarCount
        let step = width &* MemoryLayout<Float>.stride
        let a = UnsafeRawPointer(p.a.base)
        let b0 = UnsafeRawPointer(p.b.base + j &* p.b.rowStride)
        let rowBytes = p.b.rowStride &* MemoryLayout<Float>.stride
        let (b1, b2, b3) = (b0 + rowBytes, b0 + 2 &* rowBytes, b0 + 3 &* rowBytes)
        // s<column><chain>: chain c sums the c-th vector of every 4-vector group, as in dotOneColumn.
        var (s00, s01, s02, s03) = (Vector(), Vector(), Vector(), Vector())
        var (s10, s11, s12, s13) = (Vector(), Vector(), Vector(), Vector())
        var (s20, s21, s22, s23) = (Vector(), Vector(), Vector(), Vector())
        var (s30, s31, s32, s33) = (Vector(), Vector(), Vector(), Vector())
        var l = 0
        while l &+ 4 &* width <= p.k {
            let offset = l &* MemoryLayout<Float>.stride
            let a0 = load(a, offset)
            s00 = fma(s00, a0, b0, offset); s10 = fma(s10, a0, b1, offset)
            s20 = fma(s20, a0, b2, offset); s30 = fma(s30, a0, b3, offset)
            let o1 = offset &+ step, a1 = load(a, o1)
            s01 = fma(s01, a1, b0, o1); s11 = fma(s11, a1, b1, o1); s21 = fma(s21, a1, b2, o1); s31 = fma(s31, a1, b3, o1)
            let o2 = offset &+ 2 &* step, a2 = load(a, o2)
            s02 = fma(s02, a2, b0, o2); s12 = fma(s12, a2, b1, o2); s22 = fma(s22, a2, b2, o2); s32 = fma(s32, a2, b3, o2)
            let o3 = offset &+ 3 &* step, a3 = load(a, o3)
            s03 = fma(s03, a3, b0, o3); s13 = fma(s13, a3, b1, o3); s23 = fma(s23, a3, b2, o3); s33 = fma(s33, a3, b3, o3)
            l &+= 4 &* width
        }
        while l &+ width <= p.k {
            let offset = l &* MemoryLayout<Float>.stride
            let a0 = load(a, offset)
            s00 = fma(s00, a0, b0, offset); s10 = fma(s10, a0, b1, offset)
            s20 = fma(s20, a0, b2, offset); s30 = fma(s30, a0, b3, offset)
            l &+= width
        }
        var totals = (((s00 + s01) + (s02 + s03)).sum(), ((s10 + s11) + (s12 + s13)).sum(),
                      ((s20 + s21) + (s22 + s23)).sum(), ((s30 + s31) + (s32 + s33)).sum())
        let (f0, f1, f2, f3) = (b0.assumingMemoryBound(to: Float.self), b1.assumingMemoryBound(to: Float.self),
                                b2.assumingMemoryBound(to: Float.self), b3.assumingMemoryBound(to: Float.self))
        while l < p.k {
            let al = p.a.base[l]
            totals.0 += al * f0[l]
            totals.1 += al * f1[l]
            totals.2 += al * f2[l]
            totals.3 += al * f3[l]
            l &+= 1
        }
        let c = p.c + j
        if p.accumulate {
            (c[0], c[1], c[2], c[3]) = (c[0] + totals.0, c[1] + totals.1, c[2] + totals.2, c[3] + totals.3)
        } else {
            (c[0], c[1], c[2], c[3]) = totals
        }
    }

    /// The vector at `offset` bytes from `pointer`.
    @inlinable @inline(__always)
    static func load(_ pointer: UnsafeRawPointer, _ offset: Int) -> Vector {
        pointer.loadUnaligned(fromByteOffset: offset, as: Vector.self)
    }

    /// `s + a · (the vector at offset bytes from b)`.
    @inlinable @inline(__always)
    static func fma(_ s: Vector, _ a: Vector, _ b: UnsafeRawPointer, _ offset: Int) -> Vector {
        Kernel.Arithmetic.multiplyAdd(s, a, load(b, offset))
    }

    @inlinable
    static func roundUp(_ value: Int, to multiple: Int) -> Int {
        (value &+ multiple &- 1) / multiple &* multiple
    }

    @inlinable
    static func tileCount(_ p: MatrixProduct, _ mc: Int, _ nc: Int) -> Int {
        ((p.m &+ mc &- 1) / mc) &* ((p.n &+ nc &- 1) / nc)
    }

    /// Computes the tile C[rows, columns] from the packed panels, KC-deep block by block.
    @inlinable
    static func computeTile(_ p: MatrixProduct, packedA: UnsafeMutablePointer<Float>,
                            bPanels: BPanels, rows: Range<Int>, columns: Range<Int>,
                            edgeTile: UnsafeMutablePointer<Float>) {
        let mr = Kernel.rows, nr = Kernel.columns
        var depthStart = 0
        while depthStart < p.k {
            let depth = min(depthBlock, p.k &- depthStart)
            let accumulate = p.accumulate || depthStart > 0
            var column = columns.lowerBound
            while column < columns.upperBound {
                let width = min(nr, columns.upperBound &- column)
                let (bPanel, bStride) = bPanels.panel(column / nr, depthStart: depthStart)
                var row = rows.lowerBound
                while row < rows.upperBound {
                    let height = min(mr, rows.upperBound &- row)
                    let aPanel = packedA + ((row / mr) &* p.k &+ depthStart) &* mr
                    let c = p.c + (row &* p.cRowStride &+ column)
                    if height == mr && width == nr {
                        Kernel.multiply(depth: depth, a: aPanel, b: bPanel, bStride: bStride, c: c,
                                        cRowStride: p.cRowStride, accumulate: accumulate)
                        row &+= mr
                        continue
                    }
                    // A panel's last rows take a smaller tile when the kernel has one that covers them.
                    let tileHeight = Kernel.tileHeight(covering: height)
                    if tileHeight == height && width == nr {
                        Kernel.multiply(tileHeight: tileHeight, depth: depth, a: aPanel, b: bPanel, bStride: bStride,
                                        c: c, cRowStride: p.cRowStride, accumulate: accumulate)
                    } else {
                        // Edge of C: compute the tile aside, then write only what exists.
                        Kernel.multiply(tileHeight: tileHeight, depth: depth, a: aPanel, b: bPanel, bStride: bStride,
                                        c: edgeTile, cRowStride: nr, accumulate: false)
                        for r in 0..<height {
                            let target = c + r &* p.cRowStride
                            let source = edgeTile + r &* nr
                            if accumulate {
                                for j in 0..<width { target[j] += source[j] }
                            } else {
                                target.update(from: source, count: width)
                            }
                        }
                    }
                    row &+= mr
                }
                column &+= nr
            }
            depthStart &+= depth
        }
    }
}
