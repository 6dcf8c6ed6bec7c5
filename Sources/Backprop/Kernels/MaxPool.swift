/// Max-pools `planes` consecutive planes `input [planes, height, width]` with a k×k window and
/// stride s into `output [planes, ph, pw]` (ph = ⌊(height − k)/s⌋ + 1), recording for each output
/// the flat index of its maximum within its input plane (the first one on ties). With `relu`,
/// outputs are max(0, maximum): ReLU then max equals max then ReLU, because ReLU is monotone.
func maxPoolPlanes(_ input: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
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

/// The common 2×2, stride-2 case, with selects instead of branches: which of four values is
/// largest is unpredictable, and mispredicted branches made pooling cost as much as the GEMM
/// it follows. Ties keep the first maximum in row-major order, as the general path does.
private func maxPool2x2(_ input: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                        output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>, relu: Bool) {
    let (ph, pw) = (height / 2, width / 2)
    for plane in 0..<planes {
        let source = input + plane &* height &* width
        let target = output + plane &* ph &* pw
        let indices = argmax + plane &* ph &* pw
        for oy in 0..<ph {
            let top = (2 &* oy) &* width
            let bottom = top &+ width
            for ox in 0..<pw {
                let i0 = top &+ 2 &* ox, i1 = i0 &+ 1, i2 = bottom &+ 2 &* ox, i3 = i2 &+ 1
                let (v0, v1, v2, v3) = (source[i0], source[i1], source[i2], source[i3])
                let upper = v1 > v0 ? v1 : v0
                let upperIndex = v1 > v0 ? i1 : i0
                let lower = v3 > v2 ? v3 : v2
                let lowerIndex = v3 > v2 ? i3 : i2
                let best = lower > upper ? lower : upper
                target[oy &* pw &+ ox] = relu ? max(0, best) : best
                indices[oy &* pw &+ ox] = Int32(truncatingIfNeeded: lower > upper ? lowerIndex : upperIndex)
            }
        }
    }
}
