/// Where the piecewise-linear encoding of a number puts its bin edges.
public enum BinPlacement: String, Codable, CaseIterable, Sendable {
    /// At the training values' quantiles: every bin holds about as many rows.
    case quantiles
    /// Where the price changes: the split points of a regression tree grown on the column against
    /// the (transformed) target, so that bins are narrow where the price moves fast and wide where
    /// it does not ("target-aware" edges, after Gorishniy et al. 2022, "On Embeddings for
    /// Numerical Features in Tabular Deep Learning").
    case target
}

/// Bin edges for the piecewise-linear encoding: strictly increasing, from the smallest training
/// value to the largest; empty when there are too few distinct values for `bins` bins.
enum BinEdges {
    /// Edges at the `k / bins` quantiles of `sorted` (duplicates merged).
    static func quantiles(_ sorted: [Double], bins: Int) -> [Double] {
        // Distinct values, counted where the sorted array changes (not through a Set, which hashed every value).
        let distinct = sorted.isEmpty ? 0 : 1 + zip(sorted, sorted.dropFirst()).count { $0 != $1 }
        guard bins >= 2, distinct >= bins else { return [] }
        var edges: [Double] = []
        for k in 0...bins {
            let edge = sorted[min(sorted.count - 1, k * (sorted.count - 1) / bins)]
            if edges.last != edge { edges.append(edge) }
        }
        return edges.count >= 3 ? edges : []
    }

    /// Edges from a regression tree of at most `bins` leaves grown best-first on (`values`,
    /// `targets`): each step makes the split, in any leaf, that most reduces the squared error of
    /// predicting the target by the leaf's mean; every leaf keeps at least a quarter of an
    /// equal-frequency bin's rows (and 5). Edges are the midpoints between the values on either
    /// side of each split, plus the smallest and largest value.
    static func targetTree(values: [Double], targets: [Double], bins: Int) -> [Double] {
        precondition(values.count == targets.count)
        guard bins >= 2, Set(values).count >= bins else { return [] }
        // Distinct values in order, with the count and target sum of their rows.
        let order = values.indices.sorted { values[$0] < values[$1] }
        var points: [Double] = [], counts: [Double] = [], sums: [Double] = []
        for index in order {
            if points.last == values[index] {
                counts[counts.count - 1] += 1
                sums[sums.count - 1] += targets[index]
            } else {
                points.append(values[index])
                counts.append(1)
                sums.append(targets[index])
            }
        }
        // Prefix sums: rows and target totals of points[0..<i].
        var rowPrefix = [0.0], sumPrefix = [0.0]
        for i in points.indices {
            rowPrefix.append(rowPrefix[i] + counts[i])
            sumPrefix.append(sumPrefix[i] + sums[i])
        }
        let minimumLeaf = max(5, Double(values.count) / Double(4 * bins))

        /// The best split of points[start..<end]: the first point of the right side, and the gain.
        func bestSplit(_ start: Int, _ end: Int) -> (at: Int, gain: Double)? {
            let (rows, total) = (rowPrefix[end] - rowPrefix[start], sumPrefix[end] - sumPrefix[start])
            var best: (Int, Double)? = nil
            for split in (start + 1)..<max(start + 1, end) {
                let left = rowPrefix[split] - rowPrefix[start], right = rows - left
                guard left >= minimumLeaf, right >= minimumLeaf else { continue }
                let leftSum = sumPrefix[split] - sumPrefix[start]
                let gain = leftSum * leftSum / left + (total - leftSum) * (total - leftSum) / right - total * total / rows
                if gain > (best?.1 ?? 1e-12) { best = (split, gain) }
            }
            return best
        }

        var leaves: [(start: Int, end: Int, split: (at: Int, gain: Double)?)] = [(0, points.count, bestSplit(0, points.count))]
        var splits: [Int] = []
        while leaves.count < bins {
            guard let chosen = leaves.indices.filter({ leaves[$0].split != nil })
                .max(by: { leaves[$0].split!.gain < leaves[$1].split!.gain }) else { break }
            let (start, end, split) = leaves[chosen]
            splits.append(split!.at)
            leaves[chosen] = (start, split!.at, bestSplit(start, split!.at))
            leaves.append((split!.at, end, bestSplit(split!.at, end)))
        }
        guard !splits.isEmpty else { return [] }
        let edges = [points[0]] + splits.sorted().map { (points[$0 - 1] + points[$0]) / 2 } + [points[points.count - 1]]
        return edges.count >= 3 ? edges : []
    }
}
