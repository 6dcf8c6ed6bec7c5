// Throughput benchmark: training and inference images/s for the PT-example CNN, LeNet-5 and an
// MLP, batch-1 latency, and GEMM GFLOP/s. Each figure is the median of several timed samples,
// printed with its spread; samples during which other processes used the CPU are discarded.
// Benchmarks/compare-pytorch.sh runs the same work in PyTorch and prints the ratios.
import ArgumentParser
import Backprop
import Foundation
import MatrixKernels

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training and inference throughput and GEMM speed.")

    @Flag(help: "Fewer and shorter samples (a smoke run; figures are noisier).")
    var quick = false

    @Option(help: "Threads for every kernel (default: all available processors).")
    var threads = ExecutionContext.availableProcessors

    @Option(help: "Timed samples per figure (the median is reported).")
    var runs = 5

    @Option(help: "Comma-separated subset of: gemm, cnn, lenet, mlp (digits, kernels, photo, normalize and forkjoin on request).")
    var only = "gemm,cnn,lenet,mlp"

    @Flag(help: "Print one JSON object per figure instead of a table.")
    var json = false

    @Option(help: "Print per-step forward/backward milliseconds for one architecture, then exit.")
    var profile: Architecture?

    @Option(help: "Batch size of --profile's training step (the digits app trains at 128).")
    var profileBatch = 64

    @Flag(help: "Run every layer separately instead of fusing Conv2D with the ReLU/MaxPool2D after it.")
    var noFusion = false

    @Flag(help: "Keep samples taken while other processes use the CPU (to measure behaviour under load).")
    var underLoad = false

    @Option(help: "GEMM kernel path: avx512, avx2 or portable (default: the best this CPU runs).")
    var kernels: String?

    func validate() throws {
        guard profileBatch >= 1 else { throw ValidationError("--profile-batch must be at least 1") }
    }

    mutating func run() throws {
        // Training allocates and frees large blocks every batch: keep them instead of re-faulting them.
        AllocatorTuning.keepFreedMemory()
        let path = try kernels.map { name in
            guard let path = KernelPath(rawValue: name), path.isSupported else {
                throw ValidationError("kernel path \(name) is unknown or not supported by this CPU")
            }
            return path
        } ?? KernelPath.best
        if let profile {
            try profileSteps(profile, path: path)
            return
        }
        var timer = SampleTimer(runs: quick ? 3 : runs, json: json)
        if underLoad { timer.monitor.tolerance = .infinity }
        let selected = Set(only.split(separator: ",").map(String.init))
        if !json {
            print("Backprop bench: \(Self.cpuModel), \(threads) threads, \(path) kernels, median [min–max] of \(timer.runs) samples"
                  + (underLoad ? ", other load allowed" : ""))
        }
        if !underLoad { timer.monitor.waitForQuiet() }
        let peak = benchmarkPeak(path: path, timer: &timer)
        if selected.contains("gemm") { benchmarkGEMM(path: path, timer: &timer, peak: peak) }
        if selected.contains("kernels") { benchmarkKernels(path: path, timer: &timer, peak: peak) }
        for architecture in Architecture.allCases where selected.contains(architecture.rawValue) {
            try benchmark(architecture, path: path, timer: &timer, peak: peak)
        }
        if selected.contains("photo") { try benchmarkPhoto(timer: &timer) }
        if selected.contains("normalize") { try benchmarkNormalize(timer: &timer) }
        if selected.contains("forkjoin") { benchmarkForkJoin(timer: &timer) }
    }

    /// The CPU's name as /proc/cpuinfo gives it.
    static var cpuModel: String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    }

    /// This machine's multiply-add peak on `threads` threads with the path's vectors (``FMAPeak``),
    /// in GFLOP/s: what the kernels' fractions below are of.
    func benchmarkPeak(path: KernelPath, timer: inout SampleTimer) -> Double? {
        // 10–40 GFLOP per thread: 0.05–0.2 s with AVX-512, long enough that starting the threads
        // and the clock's ramp do not count.
        let rounds = Int((quick ? 1e10 : 4e10) / Double(path.peakFlopsPerRound))
        let flops = Double(path.peakFlopsPerRound) * Double(rounds) * Double(threads)
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { sink.deallocate() }
        return timer.measure("fma_peak", unit: "GFLOP/s", work: flops / 1e9) {
            Parallel.forEach(tasks: threads, threads: threads) { sink[$0] = path.fmaPeak(rounds: rounds) }
        }
    }

    /// Prints `value` (GFLOP/s) as a fraction of `peak`, as a figure of its own.
    func reportFraction(_ name: String, gflops: Double?, peak: Double?) {
        guard let gflops, let peak else { return }
        let fraction = gflops / peak
        if json {
            print(String(format: "{\"name\":\"%@\",\"unit\":\"fraction\",\"median\":%.3f,\"min\":%.3f,\"max\":%.3f}", name, fraction, fraction, fraction))
        } else {
            print("  " + name.padding(toLength: max(34, name.count), withPad: " ", startingAt: 0)
                  + String(format: "%9.0f %% of the measured peak", fraction * 100))
        }
    }

    func benchmarkGEMM(path: KernelPath, timer: inout SampleTimer, peak: Double?) {
        let shapes: [(name: String, m: Int, n: Int, k: Int, threads: Int)] = [
            ("gemm_1024_1t", 1024, 1024, 1024, 1),
            ("gemm_1024", 1024, 1024, 1024, threads),
            // Per-sample GEMMs of the CNN's second convolution (run one per thread, in parallel).
            ("gemm_conv2_forward_64x576x288_1t", 64, 576, 288, 1),
            ("gemm_conv2_wgrad_64x288x576_1t", 64, 288, 576, 1),
            ("gemm_conv2_dgrad_288x576x64_1t", 288, 576, 64, 1),
            // The CNN's big dense layer at batch 64.
            ("gemm_dense_forward_64x128x9216", 64, 128, 9216, threads),
            ("gemm_dense_wgrad_128x9216x64", 128, 9216, 64, threads),
        ]
        var random = RandomGenerator(seed: 3)
        for shape in shapes {
            let a = (0..<(shape.m * shape.k)).map { _ in random.uniform(-1, 1) }
            let b = (0..<(shape.k * shape.n)).map { _ in random.uniform(-1, 1) }
            var c = [Float](repeating: 0, count: shape.m * shape.n)
            let flops = 2 * Double(shape.m) * Double(shape.n) * Double(shape.k)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        let product = MatrixProduct(m: shape.m, n: shape.n, k: shape.k,
                                                    a: MatrixOperand(a.baseAddress!, rowStride: shape.k),
                                                    b: MatrixOperand(b.baseAddress!, rowStride: shape.n),
                                                    c: c.baseAddress!, cRowStride: shape.n, accumulate: false)
                        let repetitions = max(1, Int((quick ? 2e10 : 6e10) / flops))   // 0.1-0.3 s per sample
                        let gflops = timer.measure(shape.name, unit: "GFLOP/s", work: flops * Double(repetitions) / 1e9) {
                            for _ in 0..<repetitions { path.multiply(product, threads: shape.threads) }
                        }
                        // One-thread shapes against one thread's share of the peak.
                        reportFraction(shape.name + "_peak_fraction", gflops: gflops,
                                       peak: peak.map { $0 * Double(shape.threads) / Double(threads) })
                    }
                }
            }
        }
    }

    func benchmark(_ architecture: Architecture, path: KernelPath, timer: inout SampleTimer, peak: Double?) throws {
        let name = architecture.rawValue
        var random = RandomGenerator(seed: 1)
        let network = try Network(inputShape: architecture.inputShape, layers: architecture.specs,
                                  random: &random, fuse: !noFusion)
        let sampleSize = architecture.inputShape.reduce(1, *)
        // Steps per timed sample: whole epochs of a synthetic set, long enough to time well.
        let stepsPerSample = switch architecture {
        case .cnn: quick ? 8 : 24
        case .lenet: quick ? 40 : 150
        case .mlp: quick ? 40 : 150
        default: quick ? 20 : 60
        }
        for batchSize in [64, 128] {
            let count = stepsPerSample * batchSize
            let data = Dataset(inputs: Tensor(shape: [count] + architecture.inputShape,
                                              scalars: (0..<(count * sampleSize)).map { _ in random.normal() }),
                               targets: Tensor(shape: [count], scalars: (0..<count).map { _ in Float(random.index(below: 10)) }))
            let trainer = Trainer(network: network, loss: SoftmaxCrossEntropy(), optimizer: Adam(learningRate: 1e-4),
                                  configuration: TrainingConfiguration(epochs: 1, batchSize: batchSize,
                                                                       threads: threads, kernels: path),
                                  random: random)
            try trainer.fit(data)   // warm-up epoch
            let rate = timer.measure("\(name)_train_b\(batchSize)", unit: "img/s", work: Double(count)) {
                trainer.state.epochsCompleted = 0
                _ = try? trainer.fit(data)
            }
            reportFraction("\(name)_train_b\(batchSize)_peak_fraction",
                           gflops: rate.map { $0 * architecture.trainingFlopsPerImage / 1e9 }, peak: peak)
        }
        for batchSize in [64, 1000] {
            let batches = max(1, (quick ? 2000 : 6000) / batchSize / (architecture == .cnn ? 3 : 1))
            let input = Tensor(shape: [batchSize] + architecture.inputShape,
                               scalars: (0..<(batchSize * sampleSize)).map { _ in random.normal() })
            let context = ExecutionContext(threads: threads, kernels: path)
            _ = network.forward(input, context: context)
            timer.measure("\(name)_infer_b\(batchSize)", unit: "img/s", work: Double(batches * batchSize)) {
                for _ in 0..<batches { _ = network.forward(input, context: context) }
            }
        }
        let single = Tensor(shape: [1] + architecture.inputShape,
                            scalars: (0..<sampleSize).map { _ in random.normal() })
        let context = ExecutionContext(threads: threads, kernels: path)
        for _ in 0..<20 { _ = network.forward(single, context: context) }
        timer.measureLatency("\(name)_latency_b1", repetitions: quick ? 100 : 400) {
            _ = network.forward(single, context: context)
        }
    }
}

extension Bench {
    /// Times each execution step's forward and backward pass of one training step at batch
    /// `--profile-batch` (64 unless told).
    func profileSteps(_ architecture: Architecture, path: KernelPath) throws {
        var random = RandomGenerator(seed: 1)
        var network = try Network(inputShape: architecture.inputShape, layers: architecture.specs,
                                  random: &random, fuse: !noFusion)
        let batch = profileBatch
        let input = Tensor(shape: [batch] + architecture.inputShape,
                           scalars: (0..<(batch * architecture.inputShape.reduce(1, *))).map { _ in random.normal() })
        let labels = Tensor(shape: [batch], scalars: (0..<batch).map { _ in Float(random.index(below: 10)) })
        var context = ExecutionContext(threads: threads, kernels: path)
        let optimizer = Adam()
        var memories = [StepMemory](repeating: StepMemory(), count: network.steps.count)
        var gradients = network.makeGradients()
        var forward = [Double](repeating: 0, count: network.steps.count)
        var backward = forward
        var update = 0.0
        let (warmup, timed) = (10, 40)
        for iteration in 0..<(warmup + timed) {
            let keep = iteration >= warmup
            var activation = input
            for (index, step) in network.steps.enumerated() {
                let start = LoadMonitor.now()
                activation = step.forward(activation, parameters: network.parameters, buffers: network.buffers,
                                          memory: &memories[index], context: &context)
                if keep { forward[index] += LoadMonitor.now() - start }
            }
            var gradient: Tensor? = SoftmaxCrossEntropy().evaluate(prediction: activation, target: labels).gradient
            for index in gradients.indices { gradients[index].zero() }
            for (index, step) in network.steps.enumerated().reversed() {
                let start = LoadMonitor.now()
                gradient = step.backward(gradient!, parameters: network.parameters, memory: memories[index],
                                         gradients: &gradients, context: context, needsInputGradient: index > 0)
                if keep { backward[index] += LoadMonitor.now() - start }
            }
            let start = LoadMonitor.now()
            optimizer.step(&network, gradients: gradients, threads: threads)
            if keep { update += LoadMonitor.now() - start }
        }
        print("\(architecture.rawValue), batch \(batch), \(threads) threads: milliseconds per step")
        for (index, step) in network.steps.enumerated() {
            print(String(format: "%8.3f fwd %8.3f bwd  ", forward[index] * 1000 / Double(timed),
                         backward[index] * 1000 / Double(timed)) + step.description)
        }
        let total = forward.reduce(0, +) + backward.reduce(0, +) + update
        print(String(format: "%8.3f optimizer (Adam)\n%8.3f total: %.0f img/s", update * 1000 / Double(timed),
                     total * 1000 / Double(timed), Double(batch * timed) / total))

        // Inference of the batch and of one image: the inference plan with the network's prepared
        // weights, each step over all the samples. (`Network.forward`, which the inference figures
        // time, runs a CNN's convolutions four samples at a time instead; this shows each step alone.)
        let inferenceContext = network.inferenceContext(context)
        let single = Tensor(shape: [1] + architecture.inputShape, scalars: Array(input.scalars.prefix(architecture.inputShape.reduce(1, *))))
        for (images, warmup, timed) in [(batch, 5, 40), (1, 50, 400)] {
            let sample = images == 1 ? single : input
            var inference = [Double](repeating: 0, count: network.inferenceSteps.count)
            for iteration in 0..<(warmup + timed) {
                var activation = sample
                // One image as `Network.forward` runs it back to back: with the other threads awake.
                Parallel.withAwakeWorkers(threads: images == 1 ? threads : 1) {
                    for (index, step) in network.inferenceSteps.enumerated() {
                        let start = LoadMonitor.now()
                        activation = step.forward(activation, parameters: network.parameters, buffers: network.buffers,
                                                  context: inferenceContext)
                        if iteration >= warmup { inference[index] += LoadMonitor.now() - start }
                    }
                }
            }
            print("\(architecture.rawValue), inference of \(images == 1 ? "one image (other threads kept awake)" : "batch \(images)"), "
                  + "\(threads) threads: microseconds per step")
            for (index, step) in network.inferenceSteps.enumerated() {
                print(String(format: "%8.1f  ", inference[index] * 1e6 / Double(timed)) + step.description)
            }
            print(String(format: "%8.1f total", inference.reduce(0, +) * 1e6 / Double(timed)))
        }
    }
}

/// Takes timed samples, discards those disturbed by other processes, and prints the median.
struct SampleTimer {
    let runs: Int
    let json: Bool
    var monitor = LoadMonitor()

    /// Times `body` until `runs` undisturbed samples exist; reports `work` per second and returns
    /// the median (nil when the machine was never quiet).
    @discardableResult
    mutating func measure(_ name: String, unit: String, work: Double, _ body: () -> Void) -> Double? {
        var rates: [Double] = []
        var discarded = 0
        while rates.count < runs && discarded < 4 * runs {
            let start = monitor.read()
            body()
            let end = monitor.read()
            if monitor.otherLoad(from: start, to: end) > monitor.tolerance {
                discarded += 1
                monitor.waitForQuiet()
                continue
            }
            rates.append(work / (end.time - start.time))
        }
        return report(name, unit: unit, values: rates, discarded: discarded)
    }

    /// Times `repetitions` single calls of `body` and reports the median in microseconds (or in
    /// `unit`, `scale` times as large).
    mutating func measureLatency(_ name: String, repetitions: Int, scale: Double = 1, unit: String = "us",
                                 before: () -> Void = {}, _ body: () -> Void) {
        var times: [Double] = []
        for _ in 0..<repetitions {
            before()   // untimed
            let start = LoadMonitor.now()
            body()
            times.append((LoadMonitor.now() - start) * 1e6 * scale)
        }
        // The spread is the 10th–90th percentile; a single call is too short to filter by load.
        times.sort()
        let trimmed = Array(times[(repetitions / 10)...(repetitions * 9 / 10)])
        report(name, unit: unit, values: trimmed, discarded: 0)
    }

    @discardableResult
    private func report(_ name: String, unit: String, values: [Double], discarded: Int) -> Double? {
        let sorted = values.sorted()
        guard !sorted.isEmpty else {
            print(json ? "{\"name\":\"\(name)\",\"error\":\"machine never quiet\"}" : "\(name): no quiet sample")
            return nil
        }
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        if json {
            print(String(format: "{\"name\":\"%@\",\"unit\":\"%@\",\"median\":%.3f,\"min\":%.3f,\"max\":%.3f,\"samples\":%d,\"discarded\":%d}",
                         name, unit, median, sorted.first!, sorted.last!, sorted.count, discarded))
        } else {
            let spread = String(format: "%.1f–%.1f", sorted.first!, sorted.last!)
            print(name.padding(toLength: max(36, name.count), withPad: " ", startingAt: 0)
                  + String(format: "%10.1f", median) + " \(unit)  [\(spread)]"
                  + (discarded > 0 ? "  (\(discarded) disturbed samples discarded)" : ""))
        }
        fflush(nil)   // progress shows while the benchmark runs, even through a pipe
        return median
    }
}
