/// Max-pools `planes` consecutive planes `input [planes, height, width]` with a k×k window and
/// stride s into `output [planes, ph, pw]` (ph = ⌊(height − k)/s⌋ + 1), recording for each output
/// the flat index of its maximum within its input plane (the first one on ties). With `relu`,
/// outputs are max(0, maximum): ReLU then max equals max then ReLU, because ReLU is monotone.
package func maxPoolPlanes(_ input: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                   kernelSize k: Int, stride s: Int, output: UnsafeMutablePointer<Float>,
                   argmax: UnsafeMutablePointer<Int32>, relu: Bool) {
    let (ph, pw) = ((height &- k) / s &+ 1, (width &- k) / s &+ 1)
    if k == 2 && s == 2 {
        maxPool2x2(input, planes: planes, height: height, width: width, output: output, argmax: argmax, relu: relu)
        return
    }
    for plane in 0..<planes {
        let source = input + plane &* height &* width
        let target = output + plane &* ph &* pw
        let indices = argmax + plane &* ph &* pw
        for oy in 0..<ph {
            for ox in 0..<pw {
                var bestIndex = oy &* s &* width &+ ox &* s
                var best = source[bestIndex]
                for i in 0..<k {
                    let rowStart = (oy &* s &+ i) &* width &+ ox &* s
                    for j in 0..<k where source[rowStart &+ j] > best {
                        best = source[rowStart &+ j]
                        bestIndex = rowStart &+ j
                    }
                }
                target[oy &* pw &+ ox] = relu ? max(0, best) : best
                indices[oy &* pw &+ ox] = Int32(truncatingIfNeeded: bestIndex)
            }
        }
    }
}

/// The common 2×2, stride-2 case, vectorised over output columns with selects instead of
/// branches: which of four values is largest is unpredictable, and the branchy scalar loop made
/// pooling a tenth of a CNN training step (the MNIST network's step went from 12.3 to 9.3 ms).
/// Ties keep the first maximum in row-major order (the same comparisons as the general path, in
/// the same order), so both give identical results.
private func maxPool2x2(_ input: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                        output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>, relu: Bool) {
    let (ph, pw) = (height / 2, width / 2)
    for plane in 0..<planes {
        let source = input + plane &* height &* width
        let target = output + plane &* ph &* pw
        let indices = argmax + plane &* ph &* pw
        for oy in 0..<ph {
            let row = PoolRow(top: source + (2 &* oy) &* width, topIndex: Int32(truncatingIfNeeded: (2 &* oy) &* width),
                              width: width, output: target + oy &* pw, argmax: indices + oy &* pw, relu: relu)
            guard pw >= PoolRow.lanes else {
                for ox in 0..<pw { row.poolScalar(ox) }
                continue
            }
            // Whole vectors cover the row, the last one overlapping its neighbour when the width
            // is not a multiple of the lanes (outputs are written, never accumulated, so writing
            // one twice is harmless): rows of 7 and 14, MNIST after one and two pools, take 2.
            var first = 0
            while true {
                let start = min(first, pw &- PoolRow.lanes)
                row.poolVector(start)
                if start &+ PoolRow.lanes >= pw { break }
                first &+= PoolRow.lanes
            }
        }
    }
}

/// One output row of a 2×2, stride-2 max-pool, from input rows `top` and `top + width`.
private struct PoolRow {
    /// Outputs per vector. Four (from eight inputs per row): the engine is built for the baseline
    /// x86-64 (SSE), where eight outputs from a 16-float load split into even and odd lanes
    /// compiled to lane-by-lane shuffles: the first MNIST layer's pooling took 7× longer than
    /// with the old branchy loop.
    static let lanes = 4
    let top: UnsafePointer<Float>
    /// Flat index of `top[0]` within its plane.
    let topIndex: Int32
    let width: Int
    let output: UnsafeMutablePointer<Float>
    let argmax: UnsafeMutablePointer<Int32>
    let relu: Bool

    /// Pools outputs `start ..< start + lanes`.
    @inline(__always)
    func poolVector(_ start: Int) {
        let (upper, upperOffset) = pairMaxima(UnsafeRawPointer(top + 2 &* start))
        let (lower, lowerOffset) = pairMaxima(UnsafeRawPointer(top + (width &+ 2 &* start)))
        let lowerWins = upper .< lower
        var best = upper.replacing(with: lower, where: lowerWins)
        if relu { best = best.replacing(with: 0, where: best .< 0) }
        let leftColumns = SIMD4<Int32>(0, 2, 4, 6) &+ (topIndex &+ 2 &* Int32(truncatingIfNeeded: start))
        let index = leftColumns &+ upperOffset.replacing(with: lowerOffset &+ Int32(truncatingIfNeeded: width),
                                                         where: lowerWins)
        UnsafeMutableRawPointer(output + start).storeBytes(of: best, as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(argmax + start).storeBytes(of: index, as: SIMD4<Int32>.self)
    }

    /// For the eight floats at `pair`, each neighbouring pair's larger value and whether it is
    /// the right one (1) or the left one (0, also on ties).
    @inline(__always)
    private func pairMaxima(_ pair: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Int32>) {
        let values = pair.loadUnaligned(as: SIMD8<Float>.self)
        let (left, right) = (values.evenHalf, values.oddHalf)
        let rightWins = left .< right
        return (left.replacing(with: right, where: rightWins), SIMD4<Int32>().replacing(with: 1, where: rightWins))
    }

    func poolScalar(_ ox: Int) {
        let i0 = 2 &* ox, i2 = i0 &+ width
        let (v0, v1, v2, v3) = (top[i0], top[i0 &+ 1], top[i2], top[i2 &+ 1])
        let upper = v1 > v0 ? v1 : v0
        let upperIndex = v1 > v0 ? i0 &+ 1 : i0
        let lower = v3 > v2 ? v3 : v2
        let lowerIndex = v3 > v2 ? i2 &+ 1 : i2
        let best = lower > upper ? lower : upper
        output[ox] = relu ? max(0, best) : best
        argmax[ox] = topIndex &+ Int32(truncatingIfNeeded: lower > upper ? lowerIndex : upperIndex)
    }
}

/// The adjoint of `maxPoolPlanes`: writes `inputGradient [planes, height, width]` (overwritten),
/// where each pooled gradient `outputGradient [planes, ph, pw]` goes to the position of its
/// window's maximum and every other position is 0. `reluOutput`, the pooled outputs when a ReLU
/// was fused before the pooling, drops the gradients whose output was not positive.
package func maxUnpoolPlanes(_ outputGradient: UnsafePointer<Float>, reluOutput: UnsafePointer<Float>?,
                     argmax: UnsafePointer<Int32>, planes: Int, height: Int, width: Int,
                     kernelSize k: Int, stride s: Int, inputGradient: UnsafeMutablePointer<Float>) {
    // Without a ReLU the gradient is its own mask input: nothing is dropped.
    let (pooled, relu) = (reluOutput ?? outputGradient, reluOutput != nil)
    let (ph, pw) = ((height &- k) / s &+ 1, (width &- k) / s &+ 1)
    if k == 2 && s == 2 && height % 2 == 0 && width % 2 == 0 && pw >= UnpoolRow.lanes {
        // Windows tile the plane exactly: every position is written once, no zeroing pass.
        for plane in 0..<planes {
            for oy in 0..<ph {
                let pooledRow = plane &* ph &* pw &+ oy &* pw
                let row = UnpoolRow(outputGradient: outputGradient + pooledRow, pooled: pooled + pooledRow,
                                    argmax: argmax + pooledRow,
                                    top: inputGradient + (plane &* height &+ 2 &* oy) &* width,
                                    topIndex: Int32(truncatingIfNeeded: 2 &* oy &* width),
                                    width: width, relu: relu)
                var first = 0
                while true {
                    let start = min(first, pw &- UnpoolRow.lanes)
                    row.unpoolVector(start)
                    if start &+ UnpoolRow.lanes >= pw { break }
                    first &+= UnpoolRow.lanes
                }
            }
        }
        return
    }
    inputGradient.update(repeating: 0, count: planes &* height &* width)
    for plane in 0..<planes {
        let target = inputGradient + plane &* height &* width
        for j in (plane &* ph &* pw)..<((plane &+ 1) &* ph &* pw) {
            // A select, not a branch: the sign is unpredictable.
            let passes = !relu || pooled[j] > 0
            target[Int(argmax[j])] += passes ? outputGradient[j] : 0
        }
    }
}

/// One pooled row's gradients spread over their two input rows, `top` and `top + width`.
private struct UnpoolRow {
    static let lanes = 4
    let outputGradient: UnsafePointer<Float>
    let pooled: UnsafePointer<Float>
    let argmax: UnsafePointer<Int32>
    let top: UnsafeMutablePointer<Float>
    /// Flat index of `top[0]` within its plane.
    let topIndex: Int32
    let width: Int
    let relu: Bool

    /// Writes the 2×2 windows of pooled outputs `start ..< start + lanes`.
    @inline(__always)
    func unpoolVector(_ start: Int) {
        var g = UnsafeRawPointer(outputGradient + start).loadUnaligned(as: SIMD4<Float>.self)
        if relu {
            g = g.replacing(with: 0, where: UnsafeRawPointer(pooled + start).loadUnaligned(as: SIMD4<Float>.self) .<= 0)
        }
        let leftColumns = SIMD4<Int32>(0, 2, 4, 6) &+ (topIndex &+ 2 &* Int32(truncatingIfNeeded: start))
        let offset = UnsafeRawPointer(argmax + start).loadUnaligned(as: SIMD4<Int32>.self) &- leftColumns
        let w = Int32(truncatingIfNeeded: width)
        let zero = SIMD4<Float>()
        let (topLeft, topRight) = (zero.replacing(with: g, where: offset .== 0), zero.replacing(with: g, where: offset .== 1))
        let (bottomLeft, bottomRight) = (zero.replacing(with: g, where: offset .== w),
                                         zero.replacing(with: g, where: offset .== w &+ 1))
        UnsafeMutableRawPointer(top + 2 &* start).storeBytes(of: interleave(topLeft, topRight), as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(top + (width &+ 2 &* start)).storeBytes(of: interleave(bottomLeft, bottomRight),
                                                                        as: SIMD8<Float>.self)
    }

    @inline(__always)
    private func interleave(_ even: SIMD4<Float>, _ odd: SIMD4<Float>) -> SIMD8<Float> {
        SIMD8(even[0], odd[0], even[1], odd[1], even[2], odd[2], even[3], odd[3])
    }
}
