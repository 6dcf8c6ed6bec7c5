// Legend: o an output channel (oc of them), c an input channel, ξ = 4a + b one of the 16 places
// of a transformed 4×4 tile, t a tile (2×2 outputs, 4×4 inputs), ti×tj its tile row and column,
// T the tiles of one block, p the zero padding.

/// A stride-1 3×3 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, 2015):
/// each 2×2 block of outputs (a tile) comes from the 4×4 inputs under it as
///
///     Y = Aᵀ [ Σ_c (G g[o,c] Gᵀ) ⊙ (Bᵀ d[c] Bᵀᵀ) ] A
///
///     Bᵀ = ⎡1  0 −1  0⎤    G = ⎡ 1    0    0 ⎤    Aᵀ = ⎡1  1  1  0⎤
///          ⎢0  1  1  0⎥        ⎢1/2  1/2  1/2⎥         ⎣0  1 −1 −1⎦
///          ⎢0 −1  1  0⎥        ⎢1/2 −1/2  1/2⎥
///          ⎣0  1  0 −1⎦        ⎣ 0    0    1 ⎦
///
/// so the sum over channels is 16 matrix products, one per place ξ of the 4×4 transformed tile:
/// `M_ξ[o, t] = Σ_c U_ξ[o, c] · V_ξ[c, t]`, with U the transformed weight and V the transformed
/// input. That is 16 multiplies per tile and channel pair where the direct sum takes 36: 2.25×
/// fewer, for a few additions per tile on each side. Results equal the direct sums up to
/// rounding (the transforms add and subtract before multiplying); tests compare the two.
///
/// The tiles are taken in blocks (a range of the sample's tiles, row by row), each a task with its
/// own scratch: its transformed inputs, 16 products through the path's micro-kernel, and the inverse
/// transform, which writes the outputs with the bias, a ReLU and, when the pooling windows are the
/// tiles themselves (2×2, stride 2, even output sides), the max-pool, so that a pooled layer's
/// full-size output is never stored.
public enum WinogradConvolution {
    /// Places of a transformed tile.
    public static let places = 16

    /// The sample's shape and what the convolution writes.
    public struct Geometry: Sendable, Equatable {
        public let channels: Int
        public let height: Int
        public let width: Int
        public let padding: Int
        public let outputChannels: Int
        /// `height + 2p − 2` and `width + 2p − 2`.
        public var outputHeight: Int { height + 2 * padding - 2 }
        public var outputWidth: Int { width + 2 * padding - 2 }
        public var tileRows: Int { (outputHeight + 1) / 2 }
        public var tileColumns: Int { (outputWidth + 1) / 2 }
        public var tiles: Int { tileRows * tileColumns }

        public init(channels: Int, height: Int, width: Int, padding: Int, outputChannels: Int) {
            precondition(channels > 0 && outputChannels > 0 && padding >= 0 && height + 2 * padding >= 3
                            && width + 2 * padding >= 3, "WinogradConvolution: empty convolution")
            (self.channels, self.height, self.width, self.padding, self.outputChannels) =
                (channels, height, width, padding, outputChannels)
        }
    }

    /// What the inverse transform writes for a sample.
    public enum Output: Sendable, Equatable {
        /// `[oc, oh, ow]`: the convolution (+ bias, then max(0, ·) when `relu`).
        case plain(relu: Bool)
        /// `[oc, oh/2, ow/2]`: the 2×2, stride-2 max-pool of the convolution (+ bias, ReLU when
        /// `relu`). Needs even output sides. `run` can also say where each maximum came from.
        case pooled(relu: Bool)
    }

    /// Writes the weight `[oc, c, 3, 3]` transformed into `transformed`: `U_ξ = (G g Gᵀ)[ξ]` for
    /// each output and input channel, stored `[16][oc][c]`, `16·oc·c` floats (every one written).
    public static func transformWeight(_ weight: UnsafePointer<Float>, outputChannels: Int, channels: Int,
                                       into transformed: UnsafeMutablePointer<Float>) {
        let planeSize = outputChannels * channels
        for o in 0..<outputChannels {
            for c in 0..<channels {
                let g = weight + (o * channels + c) * 9
                /// Row `a` of (Gg)Gᵀ from row `a` of Gg, (r0, r1, r2): the same combination of columns.
                func store(_ a: Int, _ r0: Float, _ r1: Float, _ r2: Float) {
                    let at = a * 4 * planeSize + o * channels + c
                    transformed[at] = r0
                    transformed[at + planeSize] = (r0 + r1 + r2) * 0.5
                    transformed[at + 2 * planeSize] = (r0 - r1 + r2) * 0.5
                    transformed[at + 3 * planeSize] = r2
                }
                // Gg [4 × 3]: the kernel's rows g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2.
                func column(_ j: Int) -> (Float, Float, Float, Float) {
                    let (g0, g1, g2) = (g[j], g[3 + j], g[6 + j])
                    return (g0, (g0 + g1 + g2) * 0.5, (g0 - g1 + g2) * 0.5, g2)
                }
                let (k0, k1, k2) = (column(0), column(1), column(2))
                store(0, k0.0, k1.0, k2.0)
                store(1, k0.1, k1.1, k2.1)
                store(2, k0.2, k1.2, k2.2)
                store(3, k0.3, k1.3, k2.3)
            }
        }
    }

    /// Tiles per block for a sample of `tiles` tiles cut into at least `blocks` blocks: about
    /// `target` (a block's scratch, ~8 KB per tile for 32→64 channels, stays in L2), a multiple of
    /// `multiple` (the GEMM's NR: its products' column panels are then whole, and read where the
    /// input transform wrote them), and never more than the sample's tiles need.
    public static func tilesPerBlock(tiles: Int, atLeast blocks: Int, multiple: Int, target: Int = 96) -> Int {
        let count = max(blocks, (tiles + target - 1) / target)
        let size = (tiles + count - 1) / count
        return max(1, min(tiles, (size + multiple - 1) / multiple * multiple))
    }

    /// Scratch floats one block of `tilesPerBlock` tiles needs (see `run`), for a micro-kernel of
    /// `tile` (MR × NR) and vectors of `lanes`.
    public static func scratchCount(_ g: Geometry, tilesPerBlock: Int, tile: (rows: Int, columns: Int), lanes: Int) -> Int {
        Layout(g, tilesPerBlock: tilesPerBlock, rows: tile.rows, columns: tile.columns, lanes: lanes).total
    }

    /// Where a block's scratch goes, in floats from its start.
    @usableFromInline
    struct Layout {
        /// Deinterleaved input rows: `rowLength` floats each, whole vectors, a vector past the
        /// `tileColumns + 1` pairs a row holds (the transform reads whole vectors from any pair).
        @usableFromInline let rowLength: Int
        /// M_ξ [mRows][tStride] and the results [4][oc][tStride]: the block's tiles rounded up to
        /// whole column panels (NR), and oc up to whole row panels (MR), as the micro-kernel writes.
        @usableFromInline let tStride: Int
        @usableFromInline let mRows: Int
        /// V_ξ [c][vStride]: whole column panels plus a vector of slack for whole-vector stores
        /// (and not a multiple of 512 bytes, where a panel's rows would evict each other in L1).
        @usableFromInline let vStride: Int
        @usableFromInline let blockRows: Int
        @usableFromInline let even: Int, odd: Int, v: Int, m: Int, results: Int, total: Int

        @usableFromInline
        init(_ g: Geometry, tilesPerBlock: Int, rows: Int, columns: Int, lanes: Int) {
            rowLength = (g.tileColumns + lanes) / lanes * lanes + lanes
            tStride = (tilesPerBlock + columns - 1) / columns * columns
            mRows = (g.outputChannels + rows - 1) / rows * rows
            let slack = tStride + lanes
            vStride = slack % 128 == 0 ? slack + lanes : slack
            // A block's tiles span at most this many tile rows, each reading two input rows more.
            blockRows = 2 * ((tilesPerBlock + g.tileColumns - 2) / g.tileColumns + 1) + 2
            even = 0
            odd = blockRows * rowLength
            v = 2 * blockRows * rowLength
            m = v + places * g.channels * vStride
            results = m + places * mRows * tStride
            total = results + 4 * g.outputChannels * tStride
        }
    }

    /// One block of one sample: tiles `tiles` (row-major over the sample's tile grid) of `input`
    /// `[c, h, w]`, with `packedWeight` the 16 transformed weights each packed as the GEMM's A
    /// (`U_ξ`, `PanelPacking` with MR of `K`, one after another), `bias` `[oc]`, into
    /// `output` (the sample's `[oc, …]`, see `Output`). `scratch` holds `scratchCount` floats
    /// for `tilesPerBlock` tiles; `tiles` may be fewer (a sample's last block). With `.pooled` and
    /// an `argmax` (the sample's, laid out as its pooled output), each pooled output's place
    /// there receives the position `y·ow + x` in the convolution's `oh×ow` plane its maximum came
    /// from, the first in row-major order on ties (as `maxPoolPlanes` says it): what training's
    /// backward needs.
    @inlinable
    public static func run<K: MicroKernel>(_: K.Type, _ g: Geometry, input: UnsafePointer<Float>,
                                           packedWeight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                           tiles: Range<Int>, tilesPerBlock: Int, output: UnsafeMutablePointer<Float>,
                                           mode: Output, argmax: UnsafeMutablePointer<Int32>? = nil,
                                           scratch: UnsafeMutablePointer<Float>) {
        typealias V = K.Vector
        let lanes = V.scalarCount
        let (mr, nr) = (K.rows, K.columns)
        let layout = Layout(g, tilesPerBlock: tilesPerBlock, rows: mr, columns: nr, lanes: lanes)
        precondition(tiles.count <= tilesPerBlock && tiles.upperBound <= g.tiles, "WinogradConvolution: bad block")
        let (c, oc, tw) = (g.channels, g.outputChannels, g.tileColumns)
        let count = tiles.count
        let firstRow = tiles.lowerBound / tw, lastRow = (tiles.upperBound - 1) / tw
        let rowsRead = 2 * (lastRow - firstRow) + 4
        let (even, odd, v) = (scratch + layout.even, scratch + layout.odd, scratch + layout.v)
        let (rowLength, vStride) = (layout.rowLength, layout.vStride)

        // V_ξ[c, t] = (Bᵀ d Bᵀᵀ)[ξ] for the block's tiles, channel by channel.
        for channel in 0..<c {
            let plane = input + channel * g.height * g.width
            // Each input row the block reads, split into its even and odd columns of the padded
            // row (zeros outside the picture), so that a tile's four columns are four vectors.
            for r in 0..<rowsRead {
                let y = 2 * firstRow + r - g.padding
                let (e, o) = (even + r * rowLength, odd + r * rowLength)
                // Zeros first, a vector at a time.
                for j in Swift.stride(from: 0, to: rowLength, by: lanes) {
                    UnsafeMutableRawPointer(e + j).storeBytes(of: V(), as: V.self)
                    UnsafeMutableRawPointer(o + j).storeBytes(of: V(), as: V.self)
                }
                guard y >= 0 && y < g.height else { continue }
                let row = plane + y * g.width
                /// Pair `j` when either of its columns may lie outside the picture.
                func edge(_ j: Int) {
                    let x0 = 2 * j - g.padding, x1 = x0 + 1
                    e[j] = x0 >= 0 && x0 < g.width ? row[x0] : 0
                    o[j] = x1 >= 0 && x1 < g.width ? row[x1] : 0
                }
                // Pairs before `first` reach left of the picture; from `last` on, right of it
                // (pairs after `last` lie wholly outside, zeros). Between, a loop without tests,
                // which the compiler turns into wide loads and shuffles (with tests, gathers).
                let first = min(rowLength, (g.padding + 1) / 2)
                let last = min(rowLength, max(first, (g.width + g.padding) / 2))
                for j in 0..<first { edge(j) }
                for j in first..<last {
                    e[j] = row[2 * j - g.padding]
                    o[j] = row[2 * j + 1 - g.padding]
                }
                if last < rowLength { edge(last) }
            }
            let vChannel = UnsafeMutableRawPointer(v + channel * vStride)
            let placeBytes = c * vStride * 4
            let (eBytes, oBytes) = (UnsafeRawPointer(even), UnsafeRawPointer(odd))
            for ti in firstRow...lastRow {
                let rowStart = ti * tw
                var tj = max(0, tiles.lowerBound - rowStart)
                let end = min(tw, tiles.upperBound - rowStart)
                let top = 2 * (ti - firstRow)
                while tj < end {
                    /// Row `i` of the tile, transformed along its columns: d·Bᵀᵀ.
                    func across(_ i: Int) -> (V, V, V, V) {
                        let offset = ((top + i) * rowLength + tj) * 4
                        let e0 = eBytes.loadUnaligned(fromByteOffset: offset, as: V.self)
                        let e1 = eBytes.loadUnaligned(fromByteOffset: offset + 4, as: V.self)
                        let o0 = oBytes.loadUnaligned(fromByteOffset: offset, as: V.self)
                        let o1 = oBytes.loadUnaligned(fromByteOffset: offset + 4, as: V.self)
                        return (e0 - e1, o0 + e1, e1 - o0, o0 - o1)
                    }
                    let (h0, h1, h2, h3) = (across(0), across(1), across(2), across(3))
                    // Then along its rows: Bᵀ·(d·Bᵀᵀ). Whole vectors: lanes past the row's end
                    // land on the next row's tiles, written after, or in the slack.
                    let at = (rowStart + tj - tiles.lowerBound) * 4
                    func store(_ value: V, _ place: Int) {
                        vChannel.storeBytes(of: value, toByteOffset: place * placeBytes + at, as: V.self)
                    }
                    store(h0.0 - h2.0, 0); store(h0.1 - h2.1, 1); store(h0.2 - h2.2, 2); store(h0.3 - h2.3, 3)
                    store(h1.0 + h2.0, 4); store(h1.1 + h2.1, 5); store(h1.2 + h2.2, 6); store(h1.3 + h2.3, 7)
                    store(h2.0 - h1.0, 8); store(h2.1 - h1.1, 9); store(h2.2 - h1.2, 10); store(h2.3 - h1.3, 11)
                    store(h1.0 - h3.0, 12); store(h1.1 - h3.1, 13); store(h1.2 - h3.2, 14); store(h1.3 - h3.3, 15)
                    tj += lanes
                }
            }
        }

        // The column panel past the block's tiles reads zeros there (the transform's whole
        // vectors left other values in part of it).
        let panelEnd = (count + nr - 1) / nr * nr
        if panelEnd > count {
            // A vector at a time: the rows' slack takes what passes the panel's end.
            for row in 0..<(places * c) {
                let tail = UnsafeMutableRawPointer(v + row * vStride)
                for j in Swift.stride(from: count, to: panelEnd, by: lanes) {
                    tail.storeBytes(of: V(), toByteOffset: j * 4, as: V.self)
                }
            }
        }

        // M_ξ[o, t] = Σ_c U_ξ[o, c] · V_ξ[c, t]: the micro-kernel on U_ξ's packed panels and on
        // V_ξ's rows where they lie, tile by tile. (16 small products per block: through the
        // blocked GEMM, with its set-up per call, the MNIST CNN's layer took 2.7 ms per batch of
        // 64 against 2.2–2.4 ms this way, `bench --profile cnn`.)
        let m = scratch + layout.m
        let tStride = layout.tStride
        let packedCount = PanelPacking.count(rows: oc, depth: c, width: mr)
        for place in 0..<places {
            let (a, b) = (packedWeight + place * packedCount, v + place * c * vStride)
            let product = m + place * layout.mRows * tStride
            for column in stride(from: 0, to: count, by: nr) {
                for row in stride(from: 0, to: oc, by: mr) {
                    let (panel, target) = (a + row * c, product + row * tStride + column)
                    let height = K.tileHeight(covering: min(mr, oc - row))
                    if height == mr {
                        K.multiply(depth: c, a: panel, b: b + column, bStride: vStride, c: target, cRowStride: tStride,
                                   accumulate: false)
                    } else {
                        K.multiply(tileHeight: height, depth: c, a: panel, b: b + column, bStride: vStride, c: target,
                                   cRowStride: tStride, accumulate: false)
                    }
                }
            }
        }

        let relu: Bool, pooled: Bool
        switch mode {
        case .plain(let r): (relu, pooled) = (r, false)
        case .pooled(let r): (relu, pooled) = (r, true)
        }
        // Y = Aᵀ M A + bias for each tile, a vector of tiles at a time (lanes past the block's
        // tiles come from the last panel's zero columns and are never stored).
        let results = scratch + layout.results
        let mBytes = UnsafeRawPointer(m), resultBytes = UnsafeMutableRawPointer(results)
        let quarter = oc * tStride
        let placeBytes = layout.mRows * tStride * 4
        for o in 0..<oc {
            let b = V(repeating: bias[o])
            for first in stride(from: 0, to: count, by: lanes) {
                let offset = (o * tStride + first) * 4
                func at(_ place: Int) -> V { mBytes.loadUnaligned(fromByteOffset: place * placeBytes + offset, as: V.self) }
                // Aᵀ·M: the sums over the tile's rows a, for each column b.
                let (m00, m01, m02, m03) = (at(0), at(1), at(2), at(3))
                let (m10, m11, m12, m13) = (at(4), at(5), at(6), at(7))
                let (m20, m21, m22, m23) = (at(8), at(9), at(10), at(11))
                let (m30, m31, m32, m33) = (at(12), at(13), at(14), at(15))
                let (s00, s01, s02, s03) = (m00 + m10 + m20, m01 + m11 + m21, m02 + m12 + m22, m03 + m13 + m23)
                let (s10, s11, s12, s13) = (m10 - m20 - m30, m11 - m21 - m31, m12 - m22 - m32, m13 - m23 - m33)
                // (Aᵀ·M)·A, plus the bias.
                resultBytes.storeBytes(of: s00 + s01 + s02 + b, toByteOffset: offset, as: V.self)
                resultBytes.storeBytes(of: s01 - s02 - s03 + b, toByteOffset: quarter * 4 + offset, as: V.self)
                resultBytes.storeBytes(of: s10 + s11 + s12 + b, toByteOffset: 2 * quarter * 4 + offset, as: V.self)
                resultBytes.storeBytes(of: s11 - s12 - s13 + b, toByteOffset: 3 * quarter * 4 + offset, as: V.self)
            }
        }

        // The epilogue, as plain loops over floats, which the compiler turns into vector
        // comparisons (comparisons of generic 16-lane vectors compile to one lane at a time).
        if pooled {
            // A pooled output's place is its tile's: out[o, t] for the block's t. With `argmax`,
            // also the maximum's position: the tile's top-left output's, plus 1 for its right
            // column, plus ow for its lower row; strict comparisons in row-major order keep the
            // first maximum. A tile row's segment at a time, so that no tile divides.
            let ow = g.outputWidth
            for o in 0..<oc {
                let (y00, y01) = (results + o * tStride, results + quarter + o * tStride)
                let (y10, y11) = (results + 2 * quarter + o * tStride, results + 3 * quarter + o * tStride)
                let target = output + o * g.tiles + tiles.lowerBound
                guard let argmax else {
                    for t in 0..<count {
                        let best = Swift.max(Swift.max(y00[t], y01[t]), Swift.max(y10[t], y11[t]))
                        target[t] = relu ? Swift.max(best, 0) : best
                    }
                    continue
                }
                let indices = argmax + o * g.tiles + tiles.lowerBound
                var t = 0
                while t < count {
                    let (ti, firstColumn) = (tiles.lowerBound + t).quotientAndRemainder(dividingBy: tw)
                    let segment = min(count - t, tw - firstColumn)
                    let topLeft = Int32(truncatingIfNeeded: 2 * ti * ow + 2 * firstColumn)
                    let step = Int32(truncatingIfNeeded: ow)
                    for j in t..<(t + segment) {
                        let position = topLeft &+ 2 &* Int32(truncatingIfNeeded: j &- t)
                        var best = y00[j], index = position
                        if y01[j] > best { best = y01[j]; index = position &+ 1 }
                        if y10[j] > best { best = y10[j]; index = position &+ step }
                        if y11[j] > best { best = y11[j]; index = position &+ step &+ 1 }
                        target[j] = relu ? Swift.max(best, 0) : best
                        indices[j] = index
                    }
                    t += segment
                }
            }
        } else {
            // Each tile row's outputs: rows 2ti and 2ti + 1 of the plane, y00 and y01 (y10 and
            // y11) interleaved along them; on odd sides, the last row or column of tiles keeps
            // only its first.
            let (oh, ow) = (g.outputHeight, g.outputWidth)
            if relu {
                for i in 0..<(4 * quarter) { results[i] = Swift.max(results[i], 0) }
            }
            for o in 0..<oc {
                let plane = output + o * oh * ow
                var t = 0
                while t < count {
                    let tile = tiles.lowerBound + t
                    let (ti, firstColumn) = tile.quotientAndRemainder(dividingBy: tw)
                    let segment = min(count - t, tw - firstColumn)
                    // Tiles of the segment whose second column lies inside the plane.
                    let pairs = max(0, min(segment, ow / 2 - firstColumn))
                    for half in 0..<2 where 2 * ti + half < oh {
                        let row = plane + (2 * ti + half) * ow + 2 * firstColumn
                        let left = results + 2 * half * quarter + o * tStride + t
                        let right = left + quarter
                        for j in 0..<pairs {
                            row[2 * j] = left[j]
                            row[2 * j + 1] = right[j]
                        }
                        if pairs < segment { row[2 * pairs] = left[pairs] }
                    }
                    t += segment
                }
            }
        }
    }
}
