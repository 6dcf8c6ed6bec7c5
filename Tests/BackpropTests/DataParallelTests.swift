import Foundation
import Testing
import Backprop

/// Ranks as threads of one process, for testing data-parallel training without MPI: every
/// collective waits for all ranks, then combines their contributions in rank order.
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var contributions: [Any?]
    private var results: [Any?] = []
    private var arrived = 0
    private var round = 0

    init(size: Int) {
        self.size = size
        contributions = Array(repeating: nil, count: size)
    }

    /// Every rank's `value`, in rank order, once all ranks have given theirs.
    func exchange<T>(rank: Int, _ value: T) -> [T] {
        condition.lock()
        defer { condition.unlock() }
        let myRound = round
        contributions[rank] = value
        arrived += 1
        if arrived == size {
            (results, arrived, round) = (contributions, 0, round + 1)
            condition.broadcast()
        } else {
            while round == myRound { condition.wait() }
        }
        return results.map { $0 as! T }
    }

    /// Rank `rank`'s view of the group.
    func member(_ rank: Int) -> DataParallel {
        DataParallel(rank: rank, size: size,
                     sumDoubles: { self.sum($0, rank: rank) },
                     broadcast: { values in
                         let lead = self.exchange(rank: rank, Array(values))[0]
                         for i in values.indices { values[i] = lead[i] }
                     },
                     broadcastBytes: { bytes in bytes = self.exchange(rank: rank, bytes)[0] },
                     allToAll: { send, counts, receive in
                         let all = self.exchange(rank: rank, Array(send))
                         let start = counts[..<rank].reduce(0, +)
                         for (source, values) in all.enumerated() {
                             for i in 0..<counts[rank] { receive[source * counts[rank] + i] = values[start + i] }
                         }
                     },
                     allGather: { send, counts, receive in
                         let all = self.exchange(rank: rank, Array(send))
                         _ = receive.update(fromContentsOf: all.joined())
                     })
    }

    /// The element-wise sum of every rank's `values`, added in rank order.
    private func sum<T: AdditiveArithmetic>(_ values: UnsafeMutableBufferPointer<T>, rank: Int) {
        let all = exchange(rank: rank, Array(values))
        for i in values.indices { values[i] = all.reduce(.zero) { $0 + $1[i] } }
    }

    /// Runs `body(rank)` on one thread per rank and returns the results in rank order.
    func run<T: Sendable>(_ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let results = RankResults<T>(count: size)
        let threads = (0..<size).map { rank in
            Thread { results.set(rank, Result { try body(rank) }) }
        }
        for thread in threads { thread.stackSize = 8 << 20; thread.start() }
        while !results.isComplete { usleep(1000) }
        return try results.values.map { try $0!.get() }
    }
}

/// What each rank's thread returned or threw.
final class RankResults<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Result<T, any Error>?]
    init(count: Int) { stored = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<T, any Error>) { lock.withLock { stored[index] = value } }
    var isComplete: Bool { lock.withLock { stored.allSatisfy { $0 != nil } } }
    var values: [Result<T, any Error>?] { lock.withLock { stored } }
}

@Suite("Data-parallel training equals one process")
struct DataParallelTests {
    /// A small CNN with the steps that draw per row: dropout (and augmentation, below).
    static let layers: [LayerSpec] = [
        .conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, stride: 1, padding: 1), .relu,
        .maxPool2d(kernelSize: 2, stride: 2), .flatten, .dense(inputSize: 4 * 4 * 4, outputSize: 16), .relu,
        .dropout(rate: 0.25), .dense(inputSize: 16, outputSize: 3),
    ]
    /// The same with BatchNorm after the convolution and after the hidden dense layer.
    static let batchNormLayers: [LayerSpec] = [
        .conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, stride: 1, padding: 1),
        .batchNorm(features: 4, momentum: 0.1, epsilon: 1e-5), .relu, .maxPool2d(kernelSize: 2, stride: 2),
        .flatten, .dense(inputSize: 4 * 4 * 4, outputSize: 16),
        .batchNorm(features: 16, momentum: 0.1, epsilon: 1e-5), .relu, .dropout(rate: 0.25),
        .dense(inputSize: 16, outputSize: 3),
    ]

    static func data(count: Int, seed: UInt64 = 11) -> Dataset {
        var random = RandomGenerator(seed: seed)
        let inputs = (0..<(count * 64)).map { _ in random.normal() }
        let targets = (0..<count).map { _ in Float(random.next() % 3) }
        return Dataset(inputs: Tensor(shape: [count, 1, 8, 8], scalars: inputs), targets: Tensor(shape: [count], scalars: targets))
    }

    static func trainer(epochs: Int, batchSize: Int, shards: Int, layers: [LayerSpec] = layers,
                        optimizer: any Optimizer = AdamW(learningRate: 0.01, weightDecay: 1e-4)) throws -> Trainer {
        var random = RandomGenerator(seed: 5)
        let network = try Network(inputShape: [1, 8, 8], layers: layers, random: &random)
        let trainer = Trainer(network: network, loss: SoftmaxCrossEntropy(), optimizer: optimizer,
                              configuration: TrainingConfiguration(epochs: epochs, batchSize: batchSize,
                                                                   schedule: .cosine(warmupEpochs: 0.5, minimumFactor: 0.1),
                                                                   earlyStoppingPatience: 1, threads: 1, evaluationBatchSize: 4,
                                                                   shards: shards),
                              random: random)
        // Augmentation that draws per row, like the digit distortions, and transforms only `rows`.
        trainer.augment = { inputs, random, rows in
            let perRow = inputs.count / inputs.shape[0]
            for row in 0..<inputs.shape[0] {
                let shift = random.uniform(-0.5, 0.5)
                guard rows.contains(row) else { continue }
                for i in (row * perRow)..<((row + 1) * perRow) { inputs.scalars[i] += shift }
            }
        }
        return trainer
    }

    /// Trains on `ranks` threads acting as ranks; returns each rank's weights and history.
    static func trainOnRanks(_ ranks: Int, epochs: Int, batchSize: Int, shards: Int, layers: [LayerSpec] = layers,
                             optimizer: @escaping @Sendable () -> any Optimizer = { AdamW(learningRate: 0.01, weightDecay: 1e-4) })
        throws -> [(weights: Network.Weights, history: [EpochReport])] {
        let group = ThreadGroup(size: ranks)
        return try group.run { rank in
            let trainer = try Self.trainer(epochs: epochs, batchSize: batchSize, shards: shards, layers: layers, optimizer: optimizer())
            trainer.dataParallel = group.member(rank)
            let summary = try trainer.fit(Self.data(count: 61), validation: Self.data(count: 9, seed: 12))
            return (trainer.network.weights, summary.history)
        }
    }

    static func largestDifference(_ a: Network.Weights, _ b: Network.Weights) -> Float {
        zip(a.parameters + a.buffers, b.parameters + b.buffers).map { x, y in
            zip(x.scalars, y.scalars).map { abs($0 - $1) }.max() ?? 0
        }.max() ?? 0
    }

    static func figures(_ history: [EpochReport]) -> [Double] {
        history.flatMap { [$0.trainingLoss, $0.validationLoss ?? -1, Double($0.isBest ? 1 : 0)] }
    }

    @Test("N ranks end with one process's weights, bit for bit, given the same shards",
          arguments: [(ranks: 2, shards: 2), (ranks: 2, shards: 4), (ranks: 3, shards: 3), (ranks: 4, shards: 4)])
    func ranksEqualOneProcess(setup: (ranks: Int, shards: Int)) throws {
        // 61 rows: batches of 8 end with one of 5; batches of 2 leave shards (and ranks) with no rows.
        for batchSize in [8, 2] {
            let alone = try Self.trainer(epochs: 3, batchSize: batchSize, shards: setup.shards)
            let summary = try alone.fit(Self.data(count: 61), validation: Self.data(count: 9, seed: 12))
            let ranks = try Self.trainOnRanks(setup.ranks, epochs: 3, batchSize: batchSize, shards: setup.shards)
            for (rank, result) in ranks.enumerated() {
                #expect(result.weights == alone.network.weights,
                        "batch \(batchSize), rank \(rank): weights differ by up to \(Self.largestDifference(result.weights, alone.network.weights))")
                #expect(Self.figures(result.history) == Self.figures(summary.history), "batch \(batchSize), rank \(rank)")
            }
        }
    }

    @Test("Shards change only the rounding: one process with 4 shards stays near one with 1")
    func shardsOnlyRound() throws {
        // Plain SGD, so that rounding differences are not amplified by Adam's normalisation.
        let whole = try Self.trainer(epochs: 1, batchSize: 16, shards: 1, optimizer: SGD(learningRate: 0.05))
        try whole.fit(Self.data(count: 61))
        let sharded = try Self.trainer(epochs: 1, batchSize: 16, shards: 4, optimizer: SGD(learningRate: 0.05))
        try sharded.fit(Self.data(count: 61))
        #expect(Self.largestDifference(whole.network.weights, sharded.network.weights) <= 1e-5)
    }

    @Test("BatchNorm synchronised over 2 and 3 ranks matches one process to rounding; ranks agree bit for bit",
          arguments: [2, 3])
    func synchronisedBatchNorm(ranks: Int) throws {
        let alone = try Self.trainer(epochs: 1, batchSize: 8, shards: 1, layers: Self.batchNormLayers, optimizer: SGD(learningRate: 0.05))
        try alone.fit(Self.data(count: 61), validation: Self.data(count: 9, seed: 12))
        let results = try Self.trainOnRanks(ranks, epochs: 1, batchSize: 8, shards: ranks, layers: Self.batchNormLayers,
                                            optimizer: { SGD(learningRate: 0.05) })
        for result in results {
            let difference = Self.largestDifference(result.weights, alone.network.weights)
            #expect(difference <= 1e-5, "weights (running statistics included) differ by \(difference)")
        }
        #expect(results.allSatisfy { $0.weights == results[0].weights })
    }

    @Test("ShardTree: nodes, fitting rank counts, and the accumulator adds in the tree's order")
    func shardTree() {
        let tree = ShardTree(count: 6)
        #expect(tree.isNode(0..<6) && tree.isNode(0..<3) && tree.isNode(3..<6) && tree.isNode(1..<3) && tree.isNode(4..<5))
        #expect(!tree.isNode(0..<2) && !tree.isNode(2..<4) && !tree.isNode(0..<4))
        // 4 ranks take 0..<1, 1..<3, 3..<4, 4..<6: all nodes. 3 ranks would take 0..<2: not one.
        #expect(tree.fits(ranks: 1) && tree.fits(ranks: 2) && tree.fits(ranks: 4) && tree.fits(ranks: 6))
        #expect(!tree.fits(ranks: 3) && !tree.fits(ranks: 7))
        #expect(ShardTree(count: 8).fits(ranks: 4) && !ShardTree(count: 8).fits(ranks: 3))
        // Values whose sum depends on the order of the additions.
        let leaves: [[Float]] = [[1e8], [1], [-1e8], [1], [0.5], [3e7]]
        let expected = tree.sum(width: 1) { $0.count == 1 ? leaves[$0.lowerBound] : nil }
        let inTreeOrder: Float = ((1e8 as Float) + (1 + -1e8)) + (1 + (0.5 + 3e7))
        let leftToRight: Float = (((((1e8 as Float) + 1) + -1e8) + 1) + 0.5) + 3e7
        #expect(expected == [inTreeOrder] && inTreeOrder != leftToRight)
        var accumulator = ShardAccumulator(tree: tree)
        for (index, leaf) in leaves.enumerated() { accumulator.push(shard: index, leaf) }
        #expect(accumulator.result.range == 0..<6 && accumulator.result.values == expected)
        // A second round in the buffers the first one used (they hold its values until filled).
        accumulator.recycle(accumulator.takeResult())
        accumulator.reset()
        for (index, leaf) in leaves.enumerated() {
            var buffer = accumulator.buffer(count: 1)
            buffer[0] = leaf[0]
            accumulator.push(shard: index, buffer)
        }
        #expect(accumulator.takeResult() == expected)
    }

    @Test("Sharding problems are explained: ranks that do not fit the shards, BatchNorm without one shard per rank")
    func shardingProblems() {
        #expect(Trainer.shardingProblem(shards: 4, ranks: 2, layers: Self.layers) == nil)
        #expect(Trainer.shardingProblem(shards: 6, ranks: 3, layers: Self.layers)?.hasSuffix("cannot be shared out over 3 ranks (each rank's shards must form one branch of the fixed adding order); the nearest count that can is 4") == true)
        #expect(Trainer.shardingProblem(shards: 1, ranks: 2, layers: Self.layers) == "1 shard for 2 ranks: every rank needs at least one, such as 2")
        for ranks in 1...9 { for shards in ranks...40 {
            // Whatever the problem suggests must itself be accepted.
            guard let problem = Trainer.shardingProblem(shards: shards, ranks: ranks, layers: Self.layers) else { continue }
            let suggestion = Int(problem.split(separator: " ").last!)!
            #expect(Trainer.shardingProblem(shards: suggestion, ranks: ranks, layers: Self.layers) == nil, "\(problem)")
        } }
        #expect(Trainer.shardingProblem(shards: 2, ranks: 2, layers: Self.batchNormLayers) == nil)
        #expect(Trainer.shardingProblem(shards: 4, ranks: 2, layers: Self.batchNormLayers)?.contains("BatchNorm") == true)
    }

    @Test("together: the lowest failed rank reports, naming itself and the others; the rest end quietly")
    func together() throws {
        struct Unreadable: Error, CustomStringConvertible { let description = "cannot read data/x.csv" }
        let group = ThreadGroup(size: 3)
        let outcomes = try group.run { rank in
            do {
                try group.member(rank).together { if rank > 0 { throw Unreadable() } }
                return "ok"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcomes == ["another rank failed", "rank 1: cannot read data/x.csv (rank 2 failed too)", "another rank failed"])
        let fine = try group.run { rank in try group.member(rank).together { rank * 10 } }
        #expect(fine == [0, 10, 20])
    }
}
