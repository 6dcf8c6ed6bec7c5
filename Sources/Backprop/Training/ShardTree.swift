/// The fixed order in which the gradients of a batch's shards are added: a balanced binary tree
/// over shards `0 ..< count`, each node the sum of its two halves (split at the middle, rounding
/// down), left + right. Float addition is not associative, so one fixed order is what makes a
/// data-parallel run equal to one process bit for bit, whatever adds which part.
public struct ShardTree: Sendable, Equatable {
    /// Shards per batch.
    public let count: Int

    public init(count: Int) {
        precondition(count >= 1, "ShardTree: at least one shard")
        self.count = count
    }

    /// Whether `range` is a node of the tree (a sum it computes on the way).
    public func isNode(_ range: Range<Int>) -> Bool {
        var node = 0..<count
        while node != range {
            guard node.count > 1 else { return false }
            let middle = (node.lowerBound + node.upperBound) / 2
            if range.upperBound <= middle, range.lowerBound >= node.lowerBound {
                node = node.lowerBound..<middle
            } else if range.lowerBound >= middle, range.upperBound <= node.upperBound {
                node = middle..<node.upperBound
            } else {
                return false
            }
        }
        return true
    }

    /// The shards rank `rank` of `ranks` computes: a contiguous share.
    public func ranges(ofRank rank: Int, ranks: Int) -> Range<Int> {
        (count * rank / ranks)..<(count * (rank + 1) / ranks)
    }

    /// Whether `ranks` ranks can each add their own shards first: every rank has at least one
    /// shard and each rank's shards form a node (true, for instance, when `ranks` equals `count`,
    /// or is a power of two that divides it).
    public func fits(ranks: Int) -> Bool {
        ranks >= 1 && ranks <= count && (0..<ranks).allSatisfy { isNode(ranges(ofRank: $0, ranks: ranks)) }
    }

    /// The sum of every shard's buffer (`width` elements each) in the tree's order, taking each
    /// node's sum from `known` where it has it (every leaf must be known or covered).
    public func sum(width: Int, known: (Range<Int>) -> [Float]?) -> [Float] {
        func total(_ node: Range<Int>) -> [Float] {
            if let value = known(node) {
                precondition(value.count == width, "ShardTree.sum: \(value.count) values for node \(node), expected \(width)")
                return value
            }
            precondition(node.count > 1, "ShardTree.sum: shard \(node.lowerBound) is missing")
            let middle = (node.lowerBound + node.upperBound) / 2
            var left = total(node.lowerBound..<middle)
            let right = total(middle..<node.upperBound)
            left.withUnsafeMutableBufferPointer { left in
                right.withUnsafeBufferPointer { right in
                    for i in 0..<width { left[i] += right[i] }
                }
            }
            return left
        }
        return total(0..<count)
    }
}

/// Adds shard gradients as they come, in ``ShardTree`` order: a stack of partial sums where two
/// neighbours merge as soon as they are the two halves of a node (as a binary counter carries).
/// Push a contiguous run of shards that forms a node and one sum is left: that node's.
public struct ShardAccumulator {
    public let tree: ShardTree
    private var stack: [(range: Range<Int>, values: [Float])] = []
    /// Buffers no longer in use, handed out again by ``buffer(count:)``: a training step then
    /// allocates no gradient-sized memory (fresh pages cost a fault each).
    private var spares: [[Float]] = []

    public init(tree: ShardTree) { self.tree = tree }

    /// Empties the accumulator, keeping its buffers for ``buffer(count:)``.
    public mutating func reset() {
        spares += stack.map(\.values)
        stack.removeAll(keepingCapacity: true)
    }

    /// A buffer of `count` elements to fill and ``push(shard:_:)``: a kept one (holding old
    /// values) when there is one of that size, else a new one of zeros.
    public mutating func buffer(count: Int) -> [Float] {
        if let spare = spares.popLast(), spare.count == count { return spare }
        return [Float](repeating: 0, count: count)
    }

    /// Hands a buffer back for ``buffer(count:)`` (such as the one ``takeResult()`` gave).
    public mutating func recycle(_ buffer: [Float]) { spares.append(buffer) }

    /// Adds shard `shard`'s values (shards must come in order, without gaps).
    public mutating func push(shard: Int, _ values: [Float]) {
        stack.append((shard..<(shard + 1), values))
        while stack.count >= 2 {
            let (left, right) = (stack[stack.count - 2].range, stack[stack.count - 1].range)
            let union = left.lowerBound..<right.upperBound
            guard left.upperBound == right.lowerBound, tree.isNode(union),
                  (union.lowerBound + union.upperBound) / 2 == left.upperBound else { break }
            let top = stack.removeLast().values
            var sum = stack.removeLast().values   // uniquely held: added to in place
            sum.withUnsafeMutableBufferPointer { sum in
                top.withUnsafeBufferPointer { top in
                    for i in sum.indices { sum[i] += top[i] }
                }
            }
            stack.append((union, sum))
            spares.append(top)
        }
    }

    /// The node summed so far. - Precondition: the pushed shards form a node.
    public var result: (range: Range<Int>, values: [Float]) {
        precondition(stack.count == 1, "ShardAccumulator: the pushed shards do not form a node of the tree")
        return stack[0]
    }

    /// ``result``'s values, taken out of the accumulator (uniquely held, so that changing them
    /// copies nothing), which is left empty.
    public mutating func takeResult() -> [Float] {
        precondition(stack.count == 1, "ShardAccumulator: the pushed shards do not form a node of the tree")
        return stack.removeLast().values
    }
}
