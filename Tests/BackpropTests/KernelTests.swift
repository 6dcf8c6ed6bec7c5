import Testing
import MatrixKernels
import Backprop

/// Every compiled GEMM path against the naive reference, on shapes that are not multiples of any
/// tile or vector width, with 1 and 2 threads, all transposes, accumulation and padded strides.
@Suite("Fast kernels against naive references")
struct KernelTests {
    static let awkwardShapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (3, 7, 17), (17, 3, 7), (7, 33, 3), (33, 17, 1), (1, 33, 17), (13, 31, 9),
        (12, 32, 256), (25, 65, 257),           // one past the 12×32 tile and the 256-deep block
        (150, 530, 260),                        // crosses the 144-row, 512-column and 256-deep blocks
        (200, 300, 300),                        // big enough (3.6e7 flops) to run on two threads
        (1, 300, 1000), (3, 300, 1000),         // one and a few rows, long k, split over threads
        (1, 19, 70),                            // one row: four columns at a time and three left over
        (64, 96, 300),                          // one row tile: op(B) read in place, no ragged panel
    ]

    @Test(arguments: supportedKernelPaths, [1, 2])
    func gemmMatchesReference(path: KernelPath, threads: Int) {
        var random = RandomGenerator(seed: 99)
        for (m, n, k) in Self.awkwardShapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for accumulate in [false, true] {
                        let error = compare(path: path, threads: threads, m: m, n: n, k: k,
                                            transposeA: transposeA, transposeB: transposeB,
                                            accumulate: accumulate, random: &random)
                        #expect(error.maxError <= 1e-5 * Double(k).squareRoot() + 1e-5,
                                "\(path) T\(threads) \(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) acc=\(accumulate): \(error.maxError)")
                        #expect(error.paddingIntact, "C padding was overwritten")
                    }
                }
            }
        }
    }

    @Test("Operands packed beforehand give bit-identical products", arguments: supportedKernelPaths, [1, 2])
    func prepackedOperands(path: KernelPath, threads: Int) {
        let (mr, nr) = path.panelWidths
        for (m, n, k) in Self.awkwardShapes {
            for (transposeA, transposeB) in [(false, false), (true, true), (false, true)] {
                let a = uniformValues([m * k], seed: 7).scalars, b = uniformValues([k * n], seed: 8).scalars
                var packedA = [Float](repeating: .nan, count: PanelPacking.count(rows: m, depth: k, width: mr))
                var packedB = [Float](repeating: .nan, count: PanelPacking.count(rows: n, depth: k, width: nr))
                func run(packA: Bool, packB: Bool) -> [Float] {
                    var c = [Float](repeating: 0, count: m * n)
                    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
                    packedA.withUnsafeMutableBufferPointer { pa in packedB.withUnsafeMutableBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { c in
                        let opA = MatrixOperand(a.baseAddress!, rowStride: transposeA ? m : k, transposed: transposeA)
                        let opB = MatrixOperand(b.baseAddress!, rowStride: transposeB ? k : n, transposed: transposeB)
                        // op(A) [m × k] packs as it is; op(B) [k × n] as its transpose [n × k].
                        PanelPacking.pack(opA, rows: m, depth: k, width: mr, into: pa.baseAddress!)
                        PanelPacking.pack(MatrixOperand(b.baseAddress!, rowStride: transposeB ? k : n, transposed: !transposeB),
                                          rows: n, depth: k, width: nr, into: pb.baseAddress!)
                        path.multiply(MatrixProduct(m: m, n: n, k: k, a: packA ? .packed(pa.baseAddress!) : opA,
                                                    b: packB ? .packed(pb.baseAddress!) : opB,
                                                    c: c.baseAddress!, cRowStride: n, accumulate: false), threads: threads)
                    }}}}}
                    return c
                }
                let plain = run(packA: false, packB: false)
                for (packA, packB) in [(true, false), (false, true), (true, true)] {
                    let packed = run(packA: packA, packB: packB)
                    // The few-rows path (m ≤ 4, B transposed) sums in another order than the blocked one.
                    let exact = !(m <= 4 && transposeB && !transposeA)
                    let error = zip(plain, packed).map { Double(abs($0 - $1)) }.max() ?? 0
                    #expect(exact ? plain == packed : error < 1e-5 * Double(k).squareRoot() + 1e-5,
                            "\(path) \(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) packed A \(packA) B \(packB): \(error)")
                }
            }
        }
    }

    @Test("im2colPatchPanels equals im2col packed as the weight gradient's B operand")
    func im2colPatchPanelsMatchPacking() {
        let geometries = [(2, 7, 7, 3, 1, 1), (3, 9, 6, 5, 2, 2), (1, 8, 7, 2, 3, 0), (2, 5, 5, 3, 2, 0),
                          (32, 14, 14, 3, 1, 1), (1, 1, 1, 3, 1, 2), (3, 4, 11, 5, 3, 4)]
        for (c, h, w, k, s, p) in geometries {
            let g = ConvolutionGeometry(channels: c, height: h, width: w, kernelSize: k, stride: s, padding: p)
            let x = uniformValues([g.inputSize], seed: 5).scalars
            var columns = [Float](repeating: .nan, count: g.patchSize * g.outputPositions)
            x.withUnsafeBufferPointer { xp in columns.withUnsafeMutableBufferPointer { im2col(g, input: xp.baseAddress!, columns: $0.baseAddress!) } }
            for width in [1, 3, 8, 16, 32] {
                let count = PanelPacking.count(rows: g.patchSize, depth: g.outputPositions, width: width)
                var expected = [Float](repeating: .nan, count: count)
                var panels = [Float](repeating: .nan, count: count)
                columns.withUnsafeBufferPointer { cp in expected.withUnsafeMutableBufferPointer {
                    PanelPacking.pack(MatrixOperand(cp.baseAddress!, rowStride: g.outputPositions), rows: g.patchSize,
                                      depth: g.outputPositions, width: width, into: $0.baseAddress!)
                }}
                x.withUnsafeBufferPointer { xp in panels.withUnsafeMutableBufferPointer {
                    im2colPatchPanels(g, input: xp.baseAddress!, panels: $0.baseAddress!, width: width)
                }}
                #expect(panels == expected, "\(g), panels \(width) wide")
            }
        }
    }

    @Test("Results are bit-identical for 1 and 2 threads", arguments: supportedKernelPaths)
    func threadCountIndependence(path: KernelPath) {
        let (m, n, k) = (300, 260, 520)
        let a = uniformValues([m, k], seed: 1).scalars, b = uniformValues([k, n], seed: 2).scalars
        func run(_ threads: Int) -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                path.multiply(MatrixProduct(m: m, n: n, k: k, a: MatrixOperand(a.baseAddress!, rowStride: k),
                                            b: MatrixOperand(b.baseAddress!, rowStride: n),
                                            c: c.baseAddress!, cRowStride: n, accumulate: false), threads: threads)
            }}}
            return c
        }
        #expect(run(1) == run(2))
    }

    @Test("The FMA peak probe computes its twelve chains (the benchmark's peak is real work)", arguments: supportedKernelPaths)
    func fmaPeakProbe(path: KernelPath) {
        let rounds = 1000
        // One lane's twelve chains, one rounding per step as the fused paths do; the portable
        // path rounds twice (multiply, then add), which moves the total by far less than 1e-4.
        var chains = (0..<12).map { Float($0) / 10 }
        for _ in 0..<rounds {
            for index in chains.indices { chains[index] = chains[index].addingProduct(0.999_999, 1e-7) }
        }
        let lanes = path.peakFlopsPerRound / (2 * FMAPeak.multiplyAddsPerRound)
        let expected = Float(lanes) * chains.reduce(0, +)
        let probe = path.fmaPeak(rounds: rounds)
        #expect(abs(probe - expected) <= 1e-4 * expected, "\(path): \(probe) against \(expected)")
    }

    @Test("The transpose matches a naive one on awkward shapes and strides, copying or adding", arguments: supportedKernelPaths)
    func transposeMatchesReference(path: KernelPath) {
        var random = RandomGenerator(seed: 12)
        for (rows, columns) in [(1, 1), (1, 9), (7, 8), (8, 8), (9, 17), (16, 3), (24, 130), (128, 598)] {
            let (sourceStride, destinationStride) = (columns + 3, rows + 5)
            let source = (0..<(rows * sourceStride)).map { _ in random.uniform(-1, 1) }
            let initial = (0..<(columns * destinationStride)).map { _ in random.uniform(-1, 1) }
            for adding in [false, true] {
                var expected = initial
                for r in 0..<rows {
                    for c in 0..<columns {
                        let value = source[r * sourceStride + c]
                        expected[c * destinationStride + r] = adding ? expected[c * destinationStride + r] + value : value
                    }
                }
                var destination = initial
                source.withUnsafeBufferPointer { s in
                    destination.withUnsafeMutableBufferPointer { d in
                        path.transpose(s.baseAddress!, rows: rows, columns: columns, sourceStride: sourceStride,
                                       into: d.baseAddress!, destinationStride: destinationStride, adding: adding)
                    }
                }
                // Bit for bit, padding between rows untouched.
                #expect(destination == expected, "\(path) \(rows)×\(columns), adding: \(adding)")
            }
        }
    }

    @Test("The dropout kernel draws what the generator draws, four elements a draw, on every path and awkward counts",
          arguments: supportedKernelPaths)
    func dropoutMaskMatchesGenerator(path: KernelPath) {
        let (keepThreshold, scale): (UInt32, Float) = (45_875, 1 / 0.7)
        for count in [0, 1, 3, 4, 5, 31, 32, 33, 64, 100, 1027] {
            let input = (0..<count).map { Float($0) - 7.5 }
            var (factors, output) = ([Float](repeating: .nan, count: count), [Float](repeating: .nan, count: count))
            input.withUnsafeBufferPointer { x in
                factors.withUnsafeMutableBufferPointer { f in
                    output.withUnsafeMutableBufferPointer { o in
                        path.dropout(state: 99, keepThreshold: keepThreshold, scale: scale, input: x.baseAddress!,
                                     factors: f.baseAddress!, output: o.baseAddress!, count: count)
                    }
                }
            }
            var random = RandomGenerator(seed: 99)
            var (expectedFactors, expectedOutput) = ([Float](), [Float]())
            var bits: UInt64 = 0
            for i in 0..<count {
                if i % 4 == 0 { bits = random.next() }
                expectedFactors.append(UInt32(bits & 0xFFFF) < keepThreshold ? scale : 0)
                expectedOutput.append(input[i] * expectedFactors[i])
                bits >>= 16
            }
            #expect(factors == expectedFactors && output == expectedOutput, "\(path), \(count) elements")
        }
    }

    @Test("The direct convolution gives the bits of the GEMM over im2col columns, on every path and awkward shapes",
          arguments: supportedKernelPaths)
    func directConvolutionMatchesGEMM(path: KernelPath) {
        var random = RandomGenerator(seed: 21)
        // (channels, height, width, kernel, padding, output channels): widths below, at and past
        // a vector, channel counts off the blocks of eight, one-pixel kernels.
        let shapes = [(1, 28, 28, 5, 2, 6), (1, 28, 28, 3, 0, 32), (6, 14, 14, 5, 0, 16), (2, 5, 7, 3, 1, 3),
                      (3, 9, 40, 1, 0, 9), (1, 4, 3, 3, 2, 8), (4, 17, 33, 3, 1, 17)]
        for (c, h, w, k, p, oc) in shapes {
            let g = ConvolutionGeometry(channels: c, height: h, width: w, kernelSize: k, stride: 1, padding: p)
            let (oh, ow, patch, positions) = (g.outputHeight, g.outputWidth, g.patchSize, g.outputPositions)
            let input = (0..<(c * h * w)).map { _ in random.uniform(-1, 1) }
            let weight = (0..<(oc * patch)).map { _ in random.uniform(-1, 1) }
            let bias = (0..<oc).map { _ in random.uniform(-1, 1) }
            // What ConvolutionStep did before: the bias, plus the packed weight times the columns.
            var expected = (0..<(oc * positions)).map { bias[$0 / positions] }
            var columns = [Float](repeating: .nan, count: patch * positions)
            input.withUnsafeBufferPointer { x in columns.withUnsafeMutableBufferPointer { im2col(g, input: x.baseAddress!, columns: $0.baseAddress!) } }
            let packed = weight.withUnsafeBufferPointer {
                PanelPacking.packed(MatrixOperand($0.baseAddress!, rowStride: patch), rows: oc, depth: patch, width: path.panelWidths.rows)
            }
            packed.withUnsafeBufferPointer { a in
                columns.withUnsafeBufferPointer { b in
                    expected.withUnsafeMutableBufferPointer { out in
                        path.multiply(MatrixProduct(m: oc, n: positions, k: patch, a: .packed(a.baseAddress!),
                                                    b: MatrixOperand(b.baseAddress!, rowStride: positions),
                                                    c: out.baseAddress!, cRowStride: positions, accumulate: true), threads: 1)
                    }
                }
            }
            let width = DirectConvolution.paddedWidth(outputWidth: ow, kernelSize: k, lanes: path.lanes)
            var paddedInput = [Float](repeating: .nan, count: c * (oh + k - 1) * width)
            input.withUnsafeBufferPointer { x in
                paddedInput.withUnsafeMutableBufferPointer { padded(g, input: x.baseAddress!, into: $0.baseAddress!, width: width) }
            }
            var direct = [Float](repeating: .nan, count: oc * positions)
            weight.withUnsafeBufferPointer { wp in
                bias.withUnsafeBufferPointer { bp in
                    paddedInput.withUnsafeBufferPointer { xp in
                        direct.withUnsafeMutableBufferPointer { out in
                            path.directConvolution(weight: wp.baseAddress!, bias: bp.baseAddress!, outputChannels: oc, channels: c,
                                                   kernelSize: k, padded: xp.baseAddress!, paddedWidth: width, outputHeight: oh,
                                                   outputWidth: ow, output: out.baseAddress!)
                        }
                    }
                }
            }
            #expect(direct == expected, "\(path): \(c)×\(h)×\(w), \(k)×\(k) padding \(p), \(oc) channels")
        }
    }

    @Test("The pooled weight and input gradients match naive sums on awkward windows and groups, with and without ReLU",
          arguments: supportedKernelPaths)
    func pooledGradientsMatchReference(path: KernelPath) {
        var random = RandomGenerator(seed: 13)
        // Channels, pooled outputs, group, and the window: runs of `length` floats `stride` apart
        // (runs shorter than, equal to and longer than a vector; groups that do not divide).
        let cases: [(oc: Int, pooled: Int, group: Int, runs: Int, length: Int, stride: Int)] = [
            (1, 1, 1, 1, 1, 1), (3, 7, 3, 1, 9, 9), (5, 13, 4, 3, 3, 20), (4, 10, 5, 3, 48, 300),
            (2, 9, 9, 5, 30, 100), (6, 12, 7, 3, 96, 900), (2, 5, 2, 2, 61, 70), (3, 6, 6, 1, 16, 16),
            (20, 6, 4, 3, 20, 60), (33, 5, 5, 2, 40, 50),
        ]
        for shape in cases {
            let patch = shape.runs * shape.length
            let reach = (shape.runs - 1) * shape.stride + shape.length
            let sourceCount = 3 * reach + path.lanes   // origins anywhere in the first 2·reach floats
            let source = (0..<sourceCount).map { _ in random.uniform(-1, 1) }
            // With many channels, as behind a 2×2 pool: each pooled output's maxima at one of four
            // origins near each other, so that several channels add to the same places; otherwise
            // anywhere.
            let bases = (0..<shape.pooled).map { _ in random.index(below: reach) }
            let origins = (0..<(shape.oc * shape.pooled)).map { i in
                shape.oc >= 20 ? Int32(bases[i % shape.pooled] + [0, 1, shape.length, shape.length + 1][random.index(below: 4)])
                               : Int32(random.index(below: 2 * reach + 1))
            }
            let gradient = (0..<(shape.oc * shape.pooled)).map { _ in random.uniform(-1, 1) }
            let reluOutput = (0..<(shape.oc * shape.pooled)).map { _ in random.uniform(-1, 1) }
            let weight = (0..<(shape.oc * patch)).map { _ in random.uniform(-1, 1) }
            let initialWeightGradient = (0..<(shape.oc * patch)).map { _ in random.uniform(-1, 1) }
            let window = PooledWeightGradient.Window(runs: shape.runs, length: shape.length, stride: shape.stride)
            func place(_ l: Int) -> Int { (l / shape.length) * shape.stride + l % shape.length }
            for relu in [false, true] {
                let factors = (0..<gradient.count).map { relu && reluOutput[$0] <= 0 ? 0 : gradient[$0] }
                for accumulate in [false, true] {
                    var expected = [Double](repeating: 0, count: shape.oc * patch)
                    for o in 0..<shape.oc {
                        for l in 0..<patch {
                            var sum = accumulate ? Double(initialWeightGradient[o * patch + l]) : 0
                            for p in 0..<shape.pooled {
                                let i = o * shape.pooled + p
                                sum += Double(factors[i]) * Double(source[Int(origins[i]) + place(l)])
                            }
                            expected[o * patch + l] = sum
                        }
                    }
                    var dweight = initialWeightGradient
                    var factorScratch = [Float](repeating: .nan, count: gradient.count)
                    source.withUnsafeBufferPointer { s in origins.withUnsafeBufferPointer { o in
                        gradient.withUnsafeBufferPointer { g in reluOutput.withUnsafeBufferPointer { y in
                            dweight.withUnsafeMutableBufferPointer { d in factorScratch.withUnsafeMutableBufferPointer { f in
                                path.pooledWeightGradient(gradient: g.baseAddress!, reluOutput: relu ? y.baseAddress! : nil,
                                                          origins: o.baseAddress!, outputChannels: shape.oc, pooled: shape.pooled,
                                                          group: shape.group, source: s.baseAddress!, window: window,
                                                          dweight: d.baseAddress!, accumulate: accumulate, factors: f.baseAddress!)
                            } }
                        } }
                    } }
                    let worst = zip(dweight, expected).map { abs(Double($0) - $1) }.max() ?? 0
                    #expect(worst < 1e-4, "weight gradient \(path) \(shape) relu \(relu) accumulate \(accumulate): \(worst)")
                    #expect(factorScratch == factors, "factors \(path) \(shape) relu \(relu)")
                }
                // The input gradient: each term added under its origin; nothing else written.
                let initialTarget = (0..<sourceCount).map { _ in random.uniform(-1, 1) }
                var expectedTarget = initialTarget.map(Double.init)
                for o in 0..<shape.oc {
                    for p in 0..<shape.pooled {
                        let i = o * shape.pooled + p
                        for l in 0..<patch {
                            expectedTarget[Int(origins[i]) + place(l)] += Double(factors[i]) * Double(weight[o * patch + l])
                        }
                    }
                }
                var target = initialTarget
                factors.withUnsafeBufferPointer { f in origins.withUnsafeBufferPointer { o in
                    weight.withUnsafeBufferPointer { w in target.withUnsafeMutableBufferPointer { t in
                        path.pooledInputGradient(factors: f.baseAddress!, origins: o.baseAddress!, outputChannels: shape.oc,
                                                 pooled: shape.pooled, group: shape.group, weight: w.baseAddress!,
                                                 window: window, inputGradient: t.baseAddress!)
                    } }
                } }
                let worst = zip(target, expectedTarget).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(worst < 1e-4, "input gradient \(path) \(shape) relu \(relu): \(worst)")
            }
        }
    }

    @Test("k = 0 zeroes C, or leaves it when accumulating")
    func emptyDepth() {
        var c: [Float] = [1, 2, 3, 4]
        let one: [Float] = [0]
        one.withUnsafeBufferPointer { p in
            c.withUnsafeMutableBufferPointer { cp in
                KernelPath.best.multiply(MatrixProduct(m: 2, n: 2, k: 0, a: MatrixOperand(p.baseAddress!, rowStride: 0),
                                                       b: MatrixOperand(p.baseAddress!, rowStride: 2),
                                                       c: cp.baseAddress!, cRowStride: 2, accumulate: true), threads: 1)
            }
        }
        #expect(c == [1, 2, 3, 4])
        one.withUnsafeBufferPointer { p in
            c.withUnsafeMutableBufferPointer { cp in
                KernelPath.best.multiply(MatrixProduct(m: 2, n: 2, k: 0, a: MatrixOperand(p.baseAddress!, rowStride: 0),
                                                       b: MatrixOperand(p.baseAddress!, rowStride: 2),
                                                       c: cp.baseAddress!, cRowStride: 2, accumulate: false), threads: 1)
            }
        }
        #expect(c == [0, 0, 0, 0])
    }

    @Test("col2im is the adjoint of im2col: <im2col(x), y> = <x, col2im(y)>")
    func im2colAdjoint() {
        for (c, h, w, k, s, p) in [(2, 7, 7, 3, 1, 1), (3, 9, 6, 5, 2, 2), (1, 8, 7, 2, 3, 0), (2, 5, 5, 3, 2, 0)] {
            let g = ConvolutionGeometry(channels: c, height: h, width: w, kernelSize: k, stride: s, padding: p)
            let x = uniformValues([g.inputSize], seed: 5).scalars
            let y = uniformValues([g.patchSize * g.outputPositions], seed: 6).scalars
            var columns = [Float](repeating: .nan, count: y.count)
            var image = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { xp in columns.withUnsafeMutableBufferPointer { im2col(g, input: xp.baseAddress!, columns: $0.baseAddress!) } }
            y.withUnsafeBufferPointer { yp in image.withUnsafeMutableBufferPointer { col2im(g, columns: yp.baseAddress!, inputGradient: $0.baseAddress!) } }
            let left = zip(columns, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let right = zip(x, image).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            #expect(abs(left - right) < 1e-4, "\(g)")
            #expect(!columns.contains { $0.isNaN }, "im2col left entries unwritten for \(g)")
        }
    }

    @Test("2×2 max-pool matches a naive reference on every size from 2 to 19, ties and ReLU included")
    func maxPool2x2AgainstReference() {
        var random = RandomGenerator(seed: 11)
        for height in 2...19 {
            for width in 2...19 {
                let planes = 3
                // Few distinct values, so that ties are frequent; negatives, for the fused ReLU.
                let input = (0..<(planes * height * width)).map { _ in Float(random.index(below: 7)) - 3 }
                let (ph, pw) = (height / 2, width / 2)
                for relu in [false, true] {
                    var output = [Float](repeating: .nan, count: planes * ph * pw)
                    var argmax = [Int32](repeating: -1, count: planes * ph * pw)
                    input.withUnsafeBufferPointer { x in
                        output.withUnsafeMutableBufferPointer { out in
                            argmax.withUnsafeMutableBufferPointer { indices in
                                maxPoolPlanes(x.baseAddress!, planes: planes, height: height, width: width,
                                              kernelSize: 2, stride: 2, output: out.baseAddress!,
                                              argmax: indices.baseAddress!, relu: relu)
                            }
                        }
                    }
                    var mismatches = 0
                    for plane in 0..<planes { for oy in 0..<ph { for ox in 0..<pw {
                        // The first maximum in row-major order wins.
                        var bestIndex = 2 * oy * width + 2 * ox
                        for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                            let index = (2 * oy + dy) * width + 2 * ox + dx
                            if input[plane * height * width + index] > input[plane * height * width + bestIndex] {
                                bestIndex = index
                            }
                        }
                        let best = input[plane * height * width + bestIndex]
                        let j = (plane * ph + oy) * pw + ox
                        if output[j] != (relu ? max(0, best) : best) || argmax[j] != Int32(bestIndex) { mismatches += 1 }
                    }}}
                    #expect(mismatches == 0, "\(height)×\(width), relu \(relu): \(mismatches) outputs differ")
                }
            }
        }
    }

    @Test("2×2 max-unpool (pooling's backward) matches a naive scatter on every size from 2 to 19")
    func maxUnpool2x2AgainstReference() {
        var random = RandomGenerator(seed: 12)
        for height in 2...19 {
            for width in 2...19 {
                let planes = 2
                let input = (0..<(planes * height * width)).map { _ in Float(random.index(below: 7)) - 3 }
                let (ph, pw) = (height / 2, width / 2)
                var pooled = [Float](repeating: 0, count: planes * ph * pw)
                var argmax = [Int32](repeating: 0, count: planes * ph * pw)
                let gradient = (0..<(planes * ph * pw)).map { _ in random.uniform(-1, 1) }
                for relu in [false, true] {
                    input.withUnsafeBufferPointer { x in pooled.withUnsafeMutableBufferPointer { out in
                        argmax.withUnsafeMutableBufferPointer { indices in
                            maxPoolPlanes(x.baseAddress!, planes: planes, height: height, width: width, kernelSize: 2,
                                          stride: 2, output: out.baseAddress!, argmax: indices.baseAddress!, relu: relu)
                        }
                    }}
                    var expected = [Float](repeating: 0, count: input.count)
                    for j in 0..<gradient.count where !relu || pooled[j] > 0 {
                        expected[(j / (ph * pw)) * height * width + Int(argmax[j])] += gradient[j]
                    }
                    var actual = [Float](repeating: .nan, count: input.count)
                    gradient.withUnsafeBufferPointer { g in pooled.withUnsafeBufferPointer { y in
                        argmax.withUnsafeBufferPointer { indices in actual.withUnsafeMutableBufferPointer { dx in
                            maxUnpoolPlanes(g.baseAddress!, reluOutput: relu ? y.baseAddress! : nil, argmax: indices.baseAddress!,
                                            planes: planes, height: height, width: width, kernelSize: 2, stride: 2,
                                            inputGradient: dx.baseAddress!)
                        }}
                    }}
                    #expect(actual == expected, "\(height)×\(width), relu \(relu)")
                }
            }
        }
    }

    private func compare(path: KernelPath, threads: Int, m: Int, n: Int, k: Int, transposeA: Bool,
                         transposeB: Bool, accumulate: Bool,
                         random: inout RandomGenerator) -> (maxError: Double, paddingIntact: Bool) {
        // Stored shapes with 3 floats of padding per row, to catch strides mistaken for widths.
        let (aRows, aColumns) = transposeA ? (k, m) : (m, k)
        let (bRows, bColumns) = transposeB ? (n, k) : (k, n)
        let (lda, ldb, ldc) = (aColumns + 3, bColumns + 3, n + 3)
        let a = (0..<(aRows * lda)).map { _ in random.uniform(-1, 1) }
        let b = (0..<(bRows * ldb)).map { _ in random.uniform(-1, 1) }
        let initial = (0..<(m * ldc)).map { _ in random.uniform(-1, 1) }
        var fast = initial, slow = initial
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                func product(_ c: UnsafeMutablePointer<Float>) -> MatrixProduct {
                    MatrixProduct(m: m, n: n, k: k, a: MatrixOperand(a.baseAddress!, rowStride: lda, transposed: transposeA),
                                  b: MatrixOperand(b.baseAddress!, rowStride: ldb, transposed: transposeB),
                                  c: c, cRowStride: ldc, accumulate: accumulate)
                }
                fast.withUnsafeMutableBufferPointer { path.multiply(product($0.baseAddress!), threads: threads) }
                slow.withUnsafeMutableBufferPointer { referenceMultiply(product($0.baseAddress!)) }
            }
        }
        var maxError = 0.0
        var paddingIntact = true
        for row in 0..<m {
            for column in 0..<ldc {
                let index = row * ldc + column
                if column < n {
                    maxError = max(maxError, Double(abs(fast[index] - slow[index])))
                } else if fast[index] != initial[index] {
                    paddingIntact = false
                }
            }
        }
        return (maxError, paddingIntact)
    }
}
