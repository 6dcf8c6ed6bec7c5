import MatrixKernels
/// Mini-batch training of a ``Network``: per-epoch shuffling, a learning-rate schedule,
/// gradient clipping, validation with early stopping that restores the best weights, and a stop
/// with `TrainingDivergedError` that keeps the last finite weights.
///
/// One `RandomGenerator`, in `state`, drives shuffling, dropout and augmentation; with the network
/// initialised from the same seed, a run is bit-for-bit reproducible. `state` plus the network's
/// weights and the optimizer's state is everything a checkpoint needs to resume a run exactly.
///
/// The trainer owns the network it trains (a value: `network` is the trained result) and the
/// per-call memory: one ``Tape`` and one gradient array, reused from batch to batch.
public final class Trainer {
    /// The network being trained; read it after ``fit(_:validation:onBatch:onEpoch:shouldStop:)``.
    public var network: Network
    public let loss: any Loss
    public let optimizer: any Optimizer
    public let configuration: TrainingConfiguration
    /// Where training stands; restore it (with weights and optimizer state) to resume.
    public var state: TrainerState
    /// Optional in-place transformation of each training batch's inputs (data augmentation): it
    /// draws from the generator for every row of the batch and need only transform the rows in
    /// the range (in data-parallel training, this rank's share; otherwise all of them).
    public var augment: ((inout Tensor, inout RandomGenerator, Range<Int>) -> Void)?
    /// Training spread over several processes (see ``DataParallel``); nil: this process alone.
    public var dataParallel: DataParallel?

    private var tape = Tape()
    private var gradients: [Tensor]

    public init(network: Network, loss: any Loss, optimizer: any Optimizer,
                configuration: TrainingConfiguration, random: RandomGenerator) {
        self.network = network
        self.gradients = network.makeGradients()
        self.loss = loss
        self.optimizer = optimizer
        self.configuration = configuration
        state = TrainerState(random: random, baseLearningRate: optimizer.learningRate,
                             scheduler: LearningRateScheduler(schedule: configuration.schedule,
                                                              totalEpochs: configuration.epochs))
    }

    /// Whether the loss is a classification loss, for which accuracy is reported.
    private var isClassification: Bool { loss is SoftmaxCrossEntropy }

    /// Trains from `state.epochsCompleted` up to `configuration.epochs`.
    ///
    /// With ``dataParallel``, every rank calls this with the same data: each computes its share of
    /// every batch, and all of them end with the same weights.
    ///
    /// - Parameters:
    ///   - training: the samples to learn from, shuffled every epoch (when configured).
    ///   - validation: held-out samples, evaluated after every epoch for early stopping and
    ///     keeping the best weights; nil for neither (a plateau schedule then follows the
    ///     training loss).
    ///   - onBatch: called after every optimizer step (for progress bars).
    ///   - onEpoch: called after every completed epoch, once `state` includes it (for logs and
    ///     checkpoints).
    ///   - shouldStop: polled after every step; returning true ends training cleanly, keeping the
    ///     best weights so far (or the current ones without validation data).
    /// - Throws: `TrainingDivergedError` when the loss, the gradients or the weights stop being
    ///   finite; the network then holds the last finite weights.
    @discardableResult
    public func fit(_ training: Dataset, validation: Dataset? = nil,
                    onBatch: (BatchProgress) -> Void = { _ in },
                    onEpoch: (EpochReport) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) throws(TrainingDivergedError) -> TrainingSummary {
        precondition(training.count >= 1, "Trainer.fit: no training samples")
        precondition(configuration.monitor == .loss || isClassification,
                     "Trainer: accuracy can only be monitored for classification losses")
        let (epochs, batchSize) = (configuration.epochs, configuration.batchSize)
        let batches = (training.count + batchSize - 1) / batchSize
        var context = ExecutionContext(threads: configuration.threads, kernels: configuration.kernels)
        context.thermometerInput = configuration.thermometerInput
        if gradients.count != network.parameters.count { gradients = network.makeGradients() }
        var stopReason = TrainingSummary.StopReason.completed
        let clock = ContinuousClock()
        if let dataParallel {
            // Every rank starts from rank 0's weights (and rank 0's restored checkpoint, if any).
            var weights = network.weights
            var flat = [Float]()
            for tensor in weights.parameters + weights.buffers { flat += tensor.scalars }
            flat.withUnsafeMutableBufferPointer { dataParallel.broadcast($0) }
            var offset = 0
            for index in weights.parameters.indices { weights.parameters[index].copy(from: flat, at: &offset) }
            for index in weights.buffers.indices { weights.buffers[index].copy(from: flat, at: &offset) }
            network.setWeights(weights)
        }
        let tree = ShardTree(count: configuration.shards)
        if let problem = Self.shardingProblem(shards: configuration.shards, ranks: dataParallel?.size ?? 1, layers: network.layers) {
            preconditionFailure("Trainer: \(problem)")
        }
        let sharded = dataParallel != nil || configuration.shards > 1
        var accumulator = ShardAccumulator(tree: tree)
        // A dense first layer on thermometer columns multiplies each batch's rows as terms of a
        // table (``ThermometerColumns``). Encoded here once for the whole training set, each batch
        // then copies its rows' terms instead of scanning its inputs again (the same terms: the
        // same weights bit for bit). Not when augmentation changes the inputs batch by batch, nor
        // for shards, whose batches are cut again (they encode their own, as before).
        let termColumns = configuration.thermometerInput.flatMap { columns in
            (network.steps.first as? DenseStep)?.readsTable(of: columns) == true ? columns : nil
        }
        let trainingTerms = augment == nil && !sharded ? termColumns?.encodeRows(training.inputs) : nil
        // The validation set's too, for every epoch's evaluation.
        let validationTerms = validation.flatMap { termColumns?.encodeRows($0.inputs) }
        var zeroInputs: [Int: Tensor] = [:]

        // Each step keeps the other threads awake (`Parallel.withAwakeWorkers`): a step is made of
        // many parallel regions (every layer's forward and backward products, the optimizer), and a
        // sleeping thread joins each ~40 µs late. For a small network (the MLP, the house-price
        // network) that left most of the work on one core (MLP training at batch 64 1.2–1.9× on
        // Zen 3 with them awake: README, "a third CPU"); the larger ones gain too (Zen 3, six
        // alternating `bench` rounds against sleeping workers: the default digit network at batch
        // 128 1.07–1.14×, the CNN at 64 1.09×, LeNet at 128 1.14×, the shipped digit network
        // level). Not for shards, whose ranks may share the machine's cores and wait on each other.
        let awakeThreads = sharded ? 1 : configuration.threads
        epochLoop: while state.epochsCompleted < epochs {
            // A run restored from a checkpoint may already have met its stopping rule.
            if let patience = configuration.earlyStoppingPatience, validation != nil,
               state.epochsWithoutImprovement >= patience {
                stopReason = .earlyStopping
                break
            }
            let epoch = state.epochsCompleted
            let started = clock.now
            var order = Array(0..<training.count)
            if configuration.shuffle { order.shuffle(using: &state.random) }
            let lastGoodWeights = network.weights
            var lossSum = 0.0
            var learningRate = state.baseLearningRate

            for batch in 0..<batches {
                let indices = order[(batch * batchSize)..<min(training.count, (batch + 1) * batchSize)]
                var (inputs, targets) = trainingTerms.map {
                    termsBatch(indices, of: training, terms: $0, context: &context, zeros: &zeroInputs)
                } ?? training.batch(indices)
                learningRate = state.baseLearningRate
                    * state.scheduler.factor(epoch: epoch, batch: batch, batchesPerEpoch: batches)
                optimizer.learningRate = learningRate

                let (batchLoss, stop) = try Parallel.withAwakeWorkers(threads: awakeThreads) {
                    () throws(TrainingDivergedError) -> (Double, Bool) in
                    var batchLoss: Double   // the loss summed over the batch's rows
                    var stop: Bool
                    if sharded {
                        (batchLoss, stop) = shardedGradients(inputs: &inputs, targets: targets, tree: tree,
                                                             accumulator: &accumulator, context: &context, shouldStop: shouldStop)
                        guard batchLoss.isFinite else {
                            throw diverged(epoch: epoch, batch: batch,
                                           what: "the loss became \(batchLoss / Double(indices.count))", lastGoodWeights)
                        }
                    } else {
                        if let augment { augment(&inputs, &state.random, 0..<indices.count) }
                        for index in gradients.indices { gradients[index].zero() }
                        context.random = state.random
                        let prediction = network.forward(inputs, tape: &tape, context: &context)
                        state.random = context.random
                        let (value, gradient) = loss.evaluate(prediction: prediction, target: targets)
                        guard value.isFinite else {
                            throw diverged(epoch: epoch, batch: batch, what: "the loss became \(value)", lastGoodWeights)
                        }
                        network.backward(gradient, tape: tape, gradients: &gradients, context: context)
                        batchLoss = Double(value) * Double(indices.count)
                        stop = shouldStop()
                    }
                    let norm = configuration.gradientClipNorm.map { clipGradientNorm(&gradients, maxNorm: $0) }
                        ?? gradientNorm(gradients)
                    guard norm.isFinite else {
                        throw diverged(epoch: epoch, batch: batch, what: "the gradient norm became \(norm)", lastGoodWeights)
                    }
                    optimizer.step(&network, gradients: gradients, threads: configuration.threads)
                    return (batchLoss, stop)
                }
                lossSum += batchLoss

                onBatch(BatchProgress(epoch: epoch + 1, epochs: epochs, batch: batch + 1, batches: batches,
                                      runningLoss: lossSum / Double(min(training.count, (batch + 1) * batchSize)),
                                      elapsed: seconds(since: started, clock)))
                if stop {
                    stopReason = .interrupted
                    break epochLoop
                }
            }
            guard network.weights.isFinite else {
                throw diverged(epoch: epoch, batch: batches - 1, what: "a weight became non-finite", lastGoodWeights)
            }
            let trainingSeconds = seconds(since: started, clock)

            var validationLoss: Double?
            var validationAccuracy: Double?
            var isBest = false
            if let validation, validation.count > 0 {
                let result = evaluate(validation, terms: validationTerms)
                validationLoss = result.loss
                validationAccuracy = result.accuracy
                // Lower is better for both monitors (accuracy enters negated).
                let metric = configuration.monitor == .loss ? result.loss : -(result.accuracy ?? 0)
                state.scheduler.endEpoch(metric: metric)
                if state.bestMetric.map({ metric < $0 }) ?? true {
                    state.bestMetric = metric
                    state.bestEpoch = epoch + 1
                    state.bestWeights = network.weights
                    state.epochsWithoutImprovement = 0
                    isBest = true
                } else {
                    state.epochsWithoutImprovement += 1
                }
            } else {
                state.scheduler.endEpoch(metric: lossSum / Double(training.count))
            }
            state.epochsCompleted = epoch + 1
            let report = EpochReport(
                epoch: epoch + 1, epochs: epochs, trainingLoss: lossSum / Double(training.count),
                validationLoss: validationLoss, validationAccuracy: validationAccuracy,
                learningRate: learningRate, seconds: seconds(since: started, clock),
                samplesPerSecond: Double(training.count) / max(trainingSeconds, 1e-9), isBest: isBest)
            state.history.append(report)
            onEpoch(report)
        }

        var bestEpoch: Int?
        if configuration.restoreBestWeights, let best = state.bestWeights {
            network.setWeights(best)
            bestEpoch = state.bestEpoch
        }
        return TrainingSummary(stopReason: stopReason, epochsCompleted: state.epochsCompleted,
                               bestEpoch: bestEpoch, history: state.history)
    }

    /// The gradient of a batch's mean loss, computed shard by shard (``ShardTree``) into
    /// `gradients`: this process's shards (all of them, or its rank's share), summed in the tree's
    /// order, then across the ranks in the same order. Returns the loss summed over the batch's
    /// rows and whether any rank was asked to stop.
    private func shardedGradients(inputs: inout Tensor, targets: Tensor, tree: ShardTree,
                                  accumulator: inout ShardAccumulator, context: inout ExecutionContext,
                                  shouldStop: () -> Bool) -> (loss: Double, stop: Bool) {
        let count = inputs.shape[0]
        let shards = dataParallel.map { tree.ranges(ofRank: $0.rank, ranks: $0.size) } ?? 0..<tree.count
        func rows(_ shard: Int) -> Range<Int> { (count * shard / tree.count)..<(count * (shard + 1) / tree.count) }
        if let augment { augment(&inputs, &state.random, rows(shards.lowerBound).lowerBound..<rows(shards.upperBound - 1).upperBound) }
        // Every shard starts from the batch's random state: dropout draws its masks for the whole
        // batch and keeps the shard's rows, so the masks do not depend on the shards.
        let batchRandom = state.random
        let synchronising = network.hasBatchNorm ? dataParallel : nil
        var entries = [Double](repeating: 0, count: tree.count + 1)   // loss per shard, then the stop request
        accumulator.reset()
        for shard in shards {
            let rows = rows(shard)
            context.random = batchRandom
            context.share = BatchShare(offset: rows.lowerBound, total: count, synchronising: synchronising)
            for index in gradients.indices { gradients[index].zero() }
            if rows.isEmpty {
                network.idlePass(context: &context)
            } else {
                let prediction = network.forward(inputs.slice(rows), tape: &tape, context: &context)
                var (value, gradient) = loss.evaluate(prediction: prediction, target: targets.slice(rows))
                // The loss is a mean over the shard's rows; weighted by the shard's part of the
                // batch, the shards' gradients add up to the gradient of the batch's mean.
                if rows.count != count { gradient.scale(by: Float(rows.count) / Float(count)) }
                network.backward(gradient, tape: tape, gradients: &gradients, context: context)
                entries[shard] = Double(value) * Double(rows.count)
            }
            var flat = accumulator.buffer(count: network.parameterCount)
            var offset = 0
            for gradient in gradients { gradient.copy(to: &flat, at: &offset) }
            accumulator.push(shard: shard, flat)
        }
        context.share = nil
        state.random = context.random
        entries[tree.count] = shouldStop() ? 1 : 0
        var total = accumulator.takeResult()
        if let dataParallel {
            // One contributor per entry: these sums are exact.
            dataParallel.sum(&entries)
            dataParallel.sumInOrder(&total, tree: tree)
        }
        var offset = 0
        for index in gradients.indices { gradients[index].copy(from: total, at: &offset) }
        accumulator.recycle(total)
        return (entries[..<tree.count].reduce(0, +), entries[tree.count] > 0)
    }

    /// Why `shards` shards per batch cannot be trained on `ranks` ranks with this architecture,
    /// or nil when they can: the ranks must each take a node of the ``ShardTree``; a BatchNorm
    /// network needs its whole batch at once, so it trains in one shard, or one per rank.
    public static func shardingProblem(shards: Int, ranks: Int, layers: [LayerSpec]) -> String? {
        guard shards >= 1 else { return "shards must be at least 1, got \(shards)" }
        if layers.contains(where: \.isBatchNorm) {
            guard shards == ranks else {
                return "a BatchNorm network needs as many shards as ranks (\(ranks)), got \(shards)"
            }
            return nil
        }
        guard shards >= ranks else {
            return "\(shards) shard\(shards == 1 ? "" : "s") for \(ranks) ranks: every rank needs at least one, such as \(ranks)"
        }
        let fits = { ShardTree(count: $0).fits(ranks: ranks) }
        guard fits(shards) else {
            // One shard per rank always fits; look for the nearest count that does, at most twice as many.
            let nearest = (1...shards).lazy.flatMap { [shards - $0, shards + $0] }.first { $0 >= ranks && $0 <= 2 * shards && fits($0) }!
            return "\(shards) shards cannot be shared out over \(ranks) ranks (each rank's shards must form one branch of the fixed adding order); the nearest count that can is \(nearest)"
        }
        return nil
    }

    /// Mean loss, and accuracy for classification, of the current network on `dataset`.
    /// In data-parallel training each rank evaluates its share and the figures are summed over
    /// the ranks, so every rank gets the same (and makes the same early-stopping decision).
    public func evaluate(_ dataset: Dataset) -> (loss: Double, accuracy: Double?) { evaluate(dataset, terms: nil) }

    /// `evaluate`, given the dataset's terms for a first layer that reads them (the same results).
    private func evaluate(_ dataset: Dataset, terms: SparseMatrix?) -> (loss: Double, accuracy: Double?) {
        var context = ExecutionContext(threads: configuration.threads, kernels: configuration.kernels)
        context.thermometerInput = configuration.thermometerInput
        let size = configuration.evaluationBatchSize
        let batches = (dataset.count + size - 1) / size
        // Per batch: the loss summed over its rows, and its correct answers. Fixed batches, one
        // rank each, so that the sums below add the same numbers in the same order as one process.
        var sums = [Double](repeating: 0, count: 2 * batches)
        var zeroInputs: [Int: Tensor] = [:]
        for batch in dataParallel?.share(of: batches) ?? 0..<batches {
            let rows = (batch * size)..<min(dataset.count, (batch + 1) * size)
            let (inputs, targets) = terms.map {
                termsBatch(rows, of: dataset, terms: $0, context: &context, zeros: &zeroInputs)
            } ?? dataset.batch(rows)
            let prediction = network.forward(inputs, context: context)
            sums[2 * batch] = Double(loss.evaluate(prediction: prediction, target: targets).value) * Double(rows.count)
            if isClassification {
                let predicted = argmaxRows(prediction)
                sums[2 * batch + 1] = Double(predicted.indices.filter { Float(predicted[$0]) == targets.scalars[$0] }.count)
            }
        }
        dataParallel?.sum(&sums)
        var (lossSum, correct) = (0.0, 0.0)
        for batch in 0..<batches {
            lossSum += sums[2 * batch]
            correct += sums[2 * batch + 1]
        }
        return (lossSum / Double(dataset.count), isClassification ? correct / Double(dataset.count) : nil)
    }

    /// The batch `indices` of `dataset` for a first layer that reads their terms (``ThermometerColumns``):
    /// their rows of `terms` go into `context`, and since that layer then never reads the inputs,
    /// they are zeros of the batch's shape (kept in `zeros` for the next batch of that size)
    /// instead of a copy (~7 % of a house-price epoch).
    private func termsBatch<Indices: Collection<Int>>(_ indices: Indices, of dataset: Dataset, terms: SparseMatrix,
                                                      context: inout ExecutionContext,
                                                      zeros: inout [Int: Tensor]) -> (inputs: Tensor, targets: Tensor) {
        context.thermometerTerms = terms.selectingRows(indices, reusing: context.thermometerTerms)
        let inputs = zeros[indices.count] ?? Tensor(shape: [indices.count] + Array(dataset.inputs.shape.dropFirst()))
        zeros[indices.count] = inputs
        return (inputs, dataset.batchTargets(indices))
    }

    /// Puts back the weights from before the failing epoch when the current ones are not finite,
    /// and builds the error.
    private func diverged(epoch: Int, batch: Int, what: String,
                          _ lastGoodWeights: Network.Weights) -> TrainingDivergedError {
        if !network.weights.isFinite {
            network.setWeights(lastGoodWeights)
        }
        return TrainingDivergedError(epoch: epoch + 1, batch: batch + 1, what: what)
    }

    private func seconds(since start: ContinuousClock.Instant, _ clock: ContinuousClock) -> Double {
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

/// Where a training run stands: with the network's weights and the optimizer's state, enough to
/// continue it exactly as if it had never stopped.
public struct TrainerState: Sendable {
    /// Epochs finished so far; `fit` continues with the next one.
    public var epochsCompleted = 0
    /// The generator for shuffling, dropout and augmentation.
    public var random: RandomGenerator
    /// The optimizer's learning rate before any schedule factor.
    public var baseLearningRate: Float
    public var scheduler: LearningRateScheduler
    /// Best validation figure so far (lower is better; accuracy is stored negated).
    public var bestMetric: Double?
    /// 1-based epoch of `bestMetric`.
    public var bestEpoch: Int?
    /// The weights of `bestEpoch`.
    public var bestWeights: Network.Weights?
    public var epochsWithoutImprovement = 0
    /// Reports of the completed epochs.
    public var history: [EpochReport] = []

    public init(random: RandomGenerator, baseLearningRate: Float, scheduler: LearningRateScheduler) {
        self.random = random
        self.baseLearningRate = baseLearningRate
        self.scheduler = scheduler
    }
}

/// Index of the largest value in each row of `[rows, columns]` (the first on ties).
public func argmaxRows(_ tensor: Tensor) -> [Int] {
    precondition(tensor.rank == 2, "argmaxRows: expected [rows, columns], got \(tensor.shape)")
    let columns = tensor.shape[1]
    return tensor.withUnsafeBufferPointer { values in
        (0..<tensor.shape[0]).map { row in
            var best = 0
            for j in 1..<columns where values[row * columns + j] > values[row * columns + best] { best = j }
            return best
        }
    }
}
