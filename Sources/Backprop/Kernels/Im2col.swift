// im2col and its adjoint col2im for one NCHW sample. Shapes use the ConvolutionGeometry legend.
//
// columns[(ci·kh + i)·kw + j][oy·ow + ox] = input[ci][oy·s − p + i][ox·s − p + j], 0 outside the image.
// With the weight viewed as [oc, c·kh·kw], the convolution of one sample is then one GEMM:
// output[oc, oh·ow] = weight · columns.

/// Unfolds one sample `input [c, h, w]` into `columns [c·k·k, oh·ow]` (overwritten); with
/// `outputRows`, only the columns of those output rows, `[c·k·k, outputRows.count·ow]`.
package func im2col(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, columns: UnsafeMutablePointer<Float>,
                    outputRows: Range<Int>? = nil) {
    let (ow, k, s, p) = (g.outputWidth, g.kernelSize, g.stride, g.padding)
    let rows = outputRows ?? 0..<g.outputHeight
    let positions = rows.count &* ow
    var row = columns
    for channel in 0..<g.channels {
        let plane = input + channel &* g.height &* g.width
        for i in 0..<k {
            for j in 0..<k {
                let valid = g.validOutputColumns(kernelColumn: j)
                for oy in rows {
                    let target = row + (oy &- rows.lowerBound) &* ow
                    let iy = oy &* s &- p &+ i
                    if iy < 0 || iy >= g.height || valid.isEmpty {
                        target.update(repeating: 0, count: ow)
                        continue
                    }
                    if valid.lowerBound > 0 { target.update(repeating: 0, count: valid.lowerBound) }
                    let source = plane + (iy &* g.width &+ valid.lowerBound &* s &- p &+ j)
                    if s == 1 {
                        copyShortRun(from: source, to: target + valid.lowerBound, count: valid.count)
                    } else {
                        for (n, ox) in valid.enumerated() { target[ox] = source[n &* s] }
                    }
                    if valid.upperBound < ow {
                        (target + valid.upperBound).update(repeating: 0, count: ow &- valid.upperBound)
                    }
                }
                row += positions
            }
        }
    }
}

/// Copies `count` floats. Convolution rows are short (14 floats in MNIST's second layer), and a
/// memmove call per row cost more than the copy.
@inline(__always)
private func copyShortRun(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
    let (from, to) = (UnsafeRawPointer(source), UnsafeMutableRawPointer(target))
    var i = 0
    while i &+ 4 <= count {
        to.storeBytes(of: from.loadUnaligned(fromByteOffset: i &* 4, as: SIMD4<Float>.self), toByteOffset: i &* 4,
                      as: SIMD4<Float>.self)
        i &+= 4
    }
    while i < count {
        target[i] = source[i]
        i &+= 1
    }
}

/// `target[0..<count] += source[0..<count]`, four floats at a time (the compiler cannot prove the
/// two do not overlap, so it would not vectorise the plain loop).
@inline(__always)
private func addShortRun(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
    let (from, to) = (UnsafeRawPointer(source), UnsafeMutableRawPointer(target))
    var i = 0
    while i &+ 4 <= count {
        let sum = to.loadUnaligned(fromByteOffset: i &* 4, as: SIMD4<Float>.self)
            + from.loadUnaligned(fromByteOffset: i &* 4, as: SIMD4<Float>.self)
        to.storeBytes(of: sum, toByteOffset: i &* 4, as: SIMD4<Float>.self)
        i &+= 4
    }
    while i < count {
        target[i] += source[i]
        i &+= 1
    }
}

/// The adjoint of `im2col`: adds every column entry back to the input pixel it was copied from.
/// `inputGradient [c, h, w]` is accumulated into (+=), so zero it first for a fresh gradient.
package func col2im(_ g: ConvolutionGeometry, columns: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>) {
    let (oh, ow, k, s, p) = (g.outputHeight, g.outputWidth, g.kernelSize, g.stride, g.padding)
    let positions = oh &* ow
    var row = columns
    for channel in 0..<g.channels {
        let plane = inputGradient + channel &* g.height &* g.width
        for i in 0..<k {
            for j in 0..<k {
                let valid = g.validOutputColumns(kernelColumn: j)
                if !valid.isEmpty {
                    for oy in 0..<oh {
                        let iy = oy &* s &- p &+ i
                        if iy < 0 || iy >= g.height { continue }
                        // In the forward pass this was: target[ox] = source[(ox − low)·s].
                        let source = row + oy &* ow
                        let target = plane + (iy &* g.width &+ valid.lowerBound &* s &- p &+ j)
                        if s == 1 {
                            addShortRun(from: source + valid.lowerBound, to: target, count: valid.count)
                            continue
                        }
                        var n = 0
                        for ox in valid {
                            target[n &* s] += source[ox]
                            n &+= 1
                        }
                    }
                }
                row += positions
            }
        }
    }
}

/// `im2col` written straight into the panel layout (`PanelPacking`) in which a GEMM reads
/// op(B) = columnsᵀ, for the weight gradient dweight = dout · columnsᵀ: panels of columns
/// [c·k·k × oh·ow], `width` patch rows each, `[oh·ow][width]` within a panel. This replaces
/// im2col followed by the product's packing, a strided scatter of every element (measured: the
/// MNIST network's second-layer backward 4.3 → 3.8 ms per batch of 64). `panels` holds
/// `PanelPacking.count(rows: c·k·k, depth: oh·ow, width: width)` floats, overwritten.
/// (Writing the forward's op(B) = columns as panels instead of im2col plus packing was measured
/// slower, twice: with memmove calls and with vector copies for its short runs.)
package func im2colPatchPanels(_ g: ConvolutionGeometry, input: UnsafePointer<Float>,
                       panels: UnsafeMutablePointer<Float>, width: Int) {
    let (oh, ow, k, s, p) = (g.outputHeight, g.outputWidth, g.kernelSize, g.stride, g.padding)
    let (positions, panelSize) = (oh &* ow, oh &* ow &* width)
    let tail = g.patchSize % width
    if tail != 0 {
        let last = panels + (g.patchSize / width) &* panelSize
        for position in 0..<positions {
            (last + (position &* width &+ tail)).update(repeating: 0, count: width &- tail)
        }
    }
    // Row l of the columns is lane l % width of panel l / width, written with stride `width`.
    // Within a panel, one output row at a time for all its lanes: the panel lines that row
    // touches (ow·width floats, 3 KB for a 24-wide output) stay in L1 while every lane fills
    // them. Row by row over the whole image instead, each store missed L1 (measured: 15 % of a
    // PyTorch-example CNN training step).
    withUnsafeTemporaryAllocation(of: PatchRow.self, capacity: width) { lanes in
        for panel in 0..<((g.patchSize &+ width &- 1) / width) {
            let rows = (panel &* width)..<min(g.patchSize, (panel &+ 1) &* width)
            for l in rows {
                let (channel, i, j) = (l / (k &* k), (l / k) % k, l % k)
                lanes[l &- rows.lowerBound] = PatchRow(
                    offset: channel &* g.height &* g.width &- p &+ j, kernelRow: i,
                    inside: g.validOutputColumns(kernelColumn: j).clamped(to: 0..<ow))
            }
            let panelBase = panels + panel &* panelSize
            for oy in 0..<oh {
                let rowBase = panelBase + oy &* ow &* width
                /// Lane `lane`'s input row, or nil when it lies in the padding above or below the image.
                func source(_ lane: Int) -> UnsafePointer<Float>? {
                    let iy = oy &* s &- p &+ lanes[lane].kernelRow
                    return iy >= 0 && iy < g.height ? input + (lanes[lane].offset &+ iy &* g.width) : nil
                }
                var lane = 0
                // Four lanes at a time: each output column's four values are neighbours in the
                // panel, one 16-byte store instead of four scattered ones, over the columns all
                // four lanes read inside the image (measured: a CNN training step 16.6 → 15.0 ms).
                while lane &+ 4 <= rows.count {
                    guard let s0 = source(lane), let s1 = source(lane &+ 1), let s2 = source(lane &+ 2),
                          let s3 = source(lane &+ 3) else { break }
                    let (r0, r1, r2, r3) = (lanes[lane].inside, lanes[lane &+ 1].inside, lanes[lane &+ 2].inside,
                                            lanes[lane &+ 3].inside)
                    let low = max(r0.lowerBound, r1.lowerBound, r2.lowerBound, r3.lowerBound)
                    let high = min(r0.upperBound, r1.upperBound, r2.upperBound, r3.upperBound)
                    guard low < high else { break }
                    let step = width &* MemoryLayout<Float>.stride
                    let target = UnsafeMutableRawPointer(rowBase + lane)
                    /// Output column `ox`, where some of the four lanes read padding.
                    func edge(_ ox: Int) {
                        func value(_ source: UnsafePointer<Float>, _ inside: Range<Int>) -> Float {
                            inside.contains(ox) ? source[ox &* s] : 0
                        }
                        target.storeBytes(of: SIMD4<Float>(value(s0, r0), value(s1, r1), value(s2, r2), value(s3, r3)),
                                          toByteOffset: ox &* step, as: SIMD4<Float>.self)
                    }
                    for ox in 0..<low { edge(ox) }
                    for ox in high..<ow { edge(ox) }
                    for ox in low..<high {
                        let x = ox &* s
                        target.storeBytes(of: SIMD4<Float>(s0[x], s1[x], s2[x], s3[x]), toByteOffset: ox &* step,
                                          as: SIMD4<Float>.self)
                    }
                    lane &+= 4
                }
                for lane in lane..<rows.count {
                    let row = lanes[lane]
                    let iy = oy &* s &- p &+ row.kernelRow
                    let inside = iy >= 0 && iy < g.height ? row.inside : 0..<0
                    // input[channel][iy][ox·s − p + j], for the output columns inside the image.
                    let source = row.offset &+ iy &* g.width
                    var target = rowBase + lane
                    for _ in 0..<inside.lowerBound {
                        target.pointee = 0
                        target += width
                    }
                    for ox in inside {
                        target.pointee = input[source &+ ox &* s]
                        target += width
                    }
                    for _ in inside.upperBound..<ow {
                        target.pointee = 0
                        target += width
                    }
                }
            }
        }
    }
}

/// One row of the im2col matrix: input channel and kernel position (c, i, j).
private struct PatchRow {
    /// c·h·w − padding + j: with + iy·w + ox·stride, the input element of output column ox.
    var offset: Int
    /// i, the kernel row.
    var kernelRow: Int
    /// Output columns whose input column lies inside the image, within 0..<ow.
    var inside: Range<Int>
}

/// One sample `input [c, h, w]` with its zero padding, for a stride-1 ``DirectConvolution``:
/// `padded [c, h + 2p, width]` (overwritten), row `p + y` holding input row `y` from column `p`,
/// zeros elsewhere (`width` ≥ w + 2p).
package func padded(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>,
                    width: Int) {
    let (h, w, p) = (g.height, g.width, g.padding)
    let paddedHeight = h &+ 2 &* p
    padded.update(repeating: 0, count: g.channels &* paddedHeight &* width)
    for channel in 0..<g.channels {
        for y in 0..<h {
            (padded + ((channel &* paddedHeight &+ p &+ y) &* width &+ p))
                .update(from: input + (channel &* h &+ y) &* w, count: w)
        }
    }
}

/// One sample `input [c, h, w]` channels-last with its zero padding: `image [h + 2p, w + 2p, c]`
/// (overwritten), `image[y + p, x + p, ch] = input[ch, y, x]`, zeros in the padding. The patch
/// under output position (oy, ox) is then k runs of k·c floats, one per kernel row, starting at
/// pixel (oy·s + i, ox·s) of the padded image, in the order (kernel column, channel).
package func channelsLast(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>,
                          kernels: KernelPath) {
    let (c, h, w, p) = (g.channels, g.height, g.width, g.padding)
    guard p > 0 else {
        kernels.transpose(input, rows: c, columns: h &* w, sourceStride: h &* w, into: image, destinationStride: c,
                          adding: false)
        return
    }
    let rowFloats = (w &+ 2 &* p) &* c
    image.update(repeating: 0, count: p &* rowFloats)
    (image + (p &+ h) &* rowFloats).update(repeating: 0, count: p &* rowFloats)
    for y in 0..<h {
        let row = image + (p &+ y) &* rowFloats
        row.update(repeating: 0, count: p &* c)
        (row + (p &+ w) &* c).update(repeating: 0, count: p &* c)
        kernels.transpose(input + y &* w, rows: c, columns: w, sourceStride: h &* w, into: row + p &* c,
                          destinationStride: c, adding: false)
    }
}

/// The adjoint of ``channelsLast(_:input:into:kernels:)`` without the padding: `inputGradient
/// [c, h, w]` (overwritten) `[ch, y, x] = image[y + p, x + p, ch]`; what lies in the padding is
/// dropped.
package func fromChannelsLast(_ g: ConvolutionGeometry, image: UnsafePointer<Float>,
                              into inputGradient: UnsafeMutablePointer<Float>, kernels: KernelPath) {
    let (c, h, w, p) = (g.channels, g.height, g.width, g.padding)
    guard p > 0 else {
        kernels.transpose(image, rows: h &* w, columns: c, sourceStride: c, into: inputGradient,
                          destinationStride: h &* w, adding: false)
        return
    }
    let rowFloats = (w &+ 2 &* p) &* c
    for y in 0..<h {
        kernels.transpose(image + ((p &+ y) &* rowFloats &+ p &* c), rows: w, columns: c, sourceStride: c,
                          into: inputGradient + y &* w, destinationStride: h &* w, adding: false)
    }
}
