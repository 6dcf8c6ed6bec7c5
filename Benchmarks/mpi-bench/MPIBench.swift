import Backprop
import DigitsKit
import Glibc
import HousePriceKit
import MPIRuntime

/// The figures behind README.md's "Training on several machines" scaling model:
///
///     mpi-bench compute               per-rank compute time of one training step, one thread,
///                                     at the batch share each rank gets with 1 ... 64 ranks
///     mpirun -np 2 mpi-bench allreduce   time of the gradient sum of one step (DataParallel.sumInOrder)
///                                     for both networks' gradient sizes and a range of others
///
/// Median and [min–max] over repeated runs, in milliseconds.
@main
struct MPIBench {
    /// The two networks trained over MPI: the digit recogniser's (global batch 128) and one
    /// house-price ensemble member for California's 598 encoded features (global batch 256).
    static let networks: [(name: String, inputShape: [Int], layers: [LayerSpec], batch: Int, classes: Int?)] = [
        ("digits", [1, 28, 28], DigitRecipe.layers, 128, 10),
        ("house-price", [598], HousePriceTraining.layers(features: 598, hidden: [128, 128], dropout: 0.1), 256, nil),
    ]

    static func main() throws {
        switch CommandLine.arguments.dropFirst().first {
        case "compute": try compute()
        case "allreduce": try allreduce()
        default:
            print("usage: mpi-bench compute | mpirun -np N mpi-bench allreduce")
            exit(2)
        }
    }

    /// Milliseconds per training step (forward, backward, optimizer) on one thread, for each
    /// batch share `batch / ranks`, timed over whole epochs of synthetic data.
    static func compute() throws {
        for network in networks {
            var random = RandomGenerator(seed: 1)
            let model = try Network(inputShape: network.inputShape, layers: network.layers, random: &random)
            let parameters = model.parameters.reduce(0) { $0 + $1.count }
            print("\(network.name): \(parameters) parameters, global batch \(network.batch)")
            for ranks in [1, 2, 4, 8, 16, 32, 64] {
                let share = max(1, network.batch / ranks)
                let steps = max(8, 2048 / share)
                let count = steps * share
                let size = network.inputShape.reduce(1, *)
                let targets = (0..<count).map { _ in network.classes.map { Float(random.index(below: $0)) } ?? random.normal() }
                let data = Dataset(inputs: Tensor(shape: [count] + network.inputShape, scalars: (0..<(count * size)).map { _ in random.normal() }),
                                   targets: Tensor(shape: network.classes == nil ? [count, 1] : [count], scalars: targets))
                let trainer = Trainer(network: model, loss: network.classes == nil ? MeanSquaredError() : SoftmaxCrossEntropy(),
                                      optimizer: Adam(learningRate: 1e-4),
                                      configuration: TrainingConfiguration(epochs: 1, batchSize: share, threads: 1),
                                      random: random)
                try trainer.fit(data)   // warm-up
                let times = try (0..<5).map { _ in
                    trainer.state.epochsCompleted = 0
                    let start = now()
                    try trainer.fit(data)
                    return (now() - start) * 1000 / Double(steps)
                }
                print("  ranks \(ranks): batch share \(share), compute \(summary(times)) ms/step")
            }
        }
    }

    /// Milliseconds per gradient sum over the job's ranks; rank 0 prints.
    static func allreduce() throws {
        let job = try MPIJob()
        let group = job.group
        var sizes: [(String, Int)] = try networks.map { network in
            var random = RandomGenerator(seed: 1)
            let model = try Network(inputShape: network.inputShape, layers: network.layers, random: &random)
            return (network.name, model.parameters.reduce(0) { $0 + $1.count })
        }
        sizes += [1_000, 10_000, 100_000, 1_000_000, 4_000_000].map { ("", $0) }
        let tree = ShardTree(count: group.size)
        var barrier = [0.0]
        for (name, count) in sizes {
            var partial = [Float](repeating: Float(group.rank + 1), count: count)
            let repetitions = count >= 1_000_000 ? 40 : 200
            var times: [Double] = []
            for repetition in 0..<(repetitions + 10) {
                group.sum(&barrier)   // start together, so that the time is the sum's, not a wait
                let start = now()
                group.sumInOrder(&partial, tree: tree)
                if repetition >= 10 { times.append((now() - start) * 1000) }
            }
            // Rank 0's times: its sum cannot end before every rank has sent its part (the
            // all-gather), so they include waiting for the slowest.
            // For comparison, Open MPI's own MPI_Allreduce of the same bytes (as doubles, which is
            // what the transport exposes; in no fixed order, so not what training uses).
            var same = [Double](repeating: 1, count: (count + 1) / 2)
            var reference: [Double] = []
            for repetition in 0..<(repetitions + 10) {
                group.sum(&barrier)
                let start = now()
                group.sum(&same)
                if repetition >= 10 { reference.append((now() - start) * 1000) }
            }
            if group.rank == 0 {
                let label = name.isEmpty ? "" : " (\(name))"
                print("allreduce ranks=\(group.size) \(count) floats\(label): \(summary(times)) ms; MPI_Allreduce of the same bytes \(summary(reference)) ms")
            }
        }
        job.finish()
    }

    static func summary(_ values: [Double]) -> String {
        let sorted = values.sorted()
        return String(format: "%.3f [%.3f–%.3f]", sorted[sorted.count / 2], sorted.first!, sorted.last!)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}
