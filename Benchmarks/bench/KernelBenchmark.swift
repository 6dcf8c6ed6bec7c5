import Backprop
import MatrixKernels

extension Bench {
    /// The kernels alone, each on one thread and as a fraction of one thread's share of the
    /// measured peak, on the shapes the networks give them:
    /// - the GEMM's micro-kernel as the blocked GEMM drives it: one packed B panel (in L1) against
    ///   A panels that together exceed L1 (~128 KB, read from L2), at depths 128, 256 and 512;
    /// - the pooled weight gradient of the CNN's second convolution (64 channels, 12×12 pooled
    ///   outputs, 3×3 patches of 32 channels read from the 26×26 input channels-last), counting only
    ///   the multiply-adds it does (one position per pooled output), so its fraction shows how far
    ///   memory keeps it from the peak; and the same layer's pooled input gradient;
    /// - the gather product of a house-price network's first layer at batch 256 (a 598 × 128
    ///   table, the California network's; 50 terms per row at random table rows, a synthetic
    ///   stand-in for its rows' terms);
    /// - Adam's update over 100,000 weights (in millions of weights per second: divisions and square
    ///   roots, not multiply-adds, bound it).
    func benchmarkKernels(path: KernelPath, timer: inout SampleTimer, peak: Double?) {
        let onePeak = peak.map { $0 / Double(threads) }
        var random = RandomGenerator(seed: 5)
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let memory = UnsafeMutablePointer<Float>.allocate(capacity: count)
            for i in 0..<count { memory[i] = random.uniform(-1, 1) }
            return memory
        }

        let (rows, columns) = path.panelWidths
        for depth in [128, 256, 512] {
            let panels = max(4, 128 * 1024 / (depth * rows * 4))
            let (a, b, c) = (buffer(panels * depth * rows), buffer(depth * columns), buffer(panels * rows * columns))
            defer { [a, b, c].forEach { $0.deallocate() } }
            let flops = 2 * Double(depth * rows * columns * panels)
            let repetitions = max(1, Int((quick ? 1e9 : 3e9) / flops))
            let gflops = timer.measure("kernel_\(rows)x\(columns)_depth\(depth)_a_from_l2_1t", unit: "GFLOP/s",
                                       work: flops * Double(repetitions) / 1e9) {
                path.microKernelSweep(depth: depth, a: a, panels: panels, b: b, c: c, repetitions: repetitions)
            }
            reportFraction("kernel_\(rows)x\(columns)_depth\(depth)_peak_fraction", gflops: gflops, peak: onePeak)
        }

        do {
            // The input channels-last, 26 × 26 × 32; each 3×3 patch is 3 runs of 96 floats.
            let (channels, inputChannels, inputSide, side) = (64, 32, 26, 24)
            let (pooledSide, patch) = (side / 2, inputChannels * 9)
            let pooled = pooledSide * pooledSide
            let (gradient, reluOutput) = (buffer(channels * pooled), buffer(channels * pooled))
            let image = buffer(inputSide * inputSide * inputChannels + path.lanes)
            let (dweight, factors) = (buffer(channels * patch), buffer(channels * pooled))
            let origins = UnsafeMutablePointer<Int32>.allocate(capacity: channels * pooled)
            defer {
                [gradient, reluOutput, image, dweight, factors].forEach { $0.deallocate() }
                origins.deallocate()
            }
            // Each pooled output's maximum at a random place of its 2×2 window.
            for o in 0..<channels {
                for p in 0..<pooled {
                    let (y, x) = (2 * (p / pooledSide) + random.index(below: 2), 2 * (p % pooledSide) + random.index(below: 2))
                    origins[o * pooled + p] = Int32((y * inputSide + x) * inputChannels)
                }
            }
            let window = PooledWeightGradient.Window(runs: 3, length: 3 * inputChannels, stride: inputSide * inputChannels)
            let flops = 2 * Double(channels * pooled * patch)
            let repetitions = max(1, Int((quick ? 3e8 : 1e9) / flops))
            let gflops = timer.measure("pooled_wgrad_64x144x288_1t", unit: "GFLOP/s", work: flops * Double(repetitions) / 1e9) {
                for _ in 0..<repetitions {
                    path.pooledWeightGradient(gradient: gradient, reluOutput: reluOutput, origins: origins,
                                              outputChannels: channels, pooled: pooled, group: pooledSide, source: image, window: window,
                                              dweight: dweight, accumulate: false, factors: factors)
                }
            }
            reportFraction("pooled_wgrad_64x144x288_peak_fraction", gflops: gflops, peak: onePeak)
            // The input gradient of the same layer: each term added under its patch (the channels-last
            // image standing in for the input gradient, the gradient for the weight).
            let igflops = timer.measure("pooled_igrad_64x144x288_1t", unit: "GFLOP/s", work: flops * Double(repetitions) / 1e9) {
                for _ in 0..<repetitions {
                    path.pooledInputGradient(factors: gradient, origins: origins, outputChannels: channels, pooled: pooled,
                                             group: pooledSide, weight: dweight, window: window, inputGradient: image)
                }
            }
            reportFraction("pooled_igrad_64x144x288_peak_fraction", gflops: igflops, peak: onePeak)
        }

        do {
            let (batch, termsPerRow, tableRows, width) = (256, 50, 598, 128)
            let table = buffer(tableRows * width)
            let output = buffer(batch * width)
            let coefficients = buffer(batch * termsPerRow)
            var starts = (0..<batch).map { Int32($0 * termsPerRow) }
            var ends = starts.map { $0 + Int32(termsPerRow) }
            var indices = (0..<(batch * termsPerRow)).map { _ in Int32(random.index(below: tableRows)) }
            defer { [table, output, coefficients].forEach { $0.deallocate() } }
            let flops = 2 * Double(batch * termsPerRow * width)
            let repetitions = max(1, Int((quick ? 3e8 : 1e9) / flops))
            starts.withUnsafeMutableBufferPointer { starts in
                ends.withUnsafeMutableBufferPointer { ends in
                    indices.withUnsafeMutableBufferPointer { indices in
                        let sparse = GatherProduct.SparseRows(rows: batch, starts: starts.baseAddress!, ends: ends.baseAddress!,
                                                              indices: indices.baseAddress!, coefficients: coefficients)
                        let gflops = timer.measure("gather_256x50_of_598x128_1t", unit: "GFLOP/s",
                                                   work: flops * Double(repetitions) / 1e9) {
                            for _ in 0..<repetitions {
                                path.gather(sparse, table: table, tableStride: width, output: output, outputStride: width,
                                            width: width, threads: 1, accumulate: false)
                            }
                        }
                        reportFraction("gather_256x50_of_598x128_peak_fraction", gflops: gflops, peak: onePeak)
                    }
                }
            }
        }

        do {
            let count = 100_000
            let (w, grad, m, v) = (buffer(count), buffer(count), buffer(count), buffer(count))
            for i in 0..<count { v[i] = abs(v[i]) }
            defer { [w, grad, m, v].forEach { $0.deallocate() } }
            let coefficients = AdamUpdate.Coefficients(beta1: 0.9, beta2: 0.999, l2Decay: 0, correction2: 0.5,
                                                       stepSize: 1e-7, shrink: 1, epsilon: 1e-8)
            let repetitions = quick ? 200 : 1000
            timer.measure("adam_100000_1t", unit: "M weights/s", work: Double(count * repetitions) / 1e6) {
                for _ in 0..<repetitions { path.adam(coefficients, w: w, grad: grad, m: m, v: v, range: 0..<count) }
            }
        }
    }
}
