// im2col and its adjoint col2im for one NCHW sample. Shapes use the ConvolutionGeometry legend.
//
// columns[(ci·kh + i)·kw + j][oy·ow + ox] = input[ci][oy·s − p + i][ox·s − p + j], 0 outside the image.
// With the weight viewed as [oc, c·kh·kw], the convolution of one sample is then one GEMM:
// output[oc, oh·ow] = weight · columns.

/// Unfolds one sample `input [c, h, w]` into `columns [c·k·k, oh·ow]` (overwritten).
func im2col(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, columns: UnsafeMutablePointer<Float>) {
    let (oh, ow, k, s, p) = (g.outputHeight, g.outputWidth, g.kernelSize, g.stride, g.padding)
    let positions = oh &* ow
    var row = columns
    for channel in 0..<g.channels {
        let plane = input + channel &* g.height &* g.width
        for i in 0..<k {
            for j in 0..<k {
                let valid = g.validOutputColumns(kernelColumn: j)
                for oy in 0..<oh {
                    let target = row + oy &* ow
                    let iy = oy &* s &- p &+ i
                    if iy < 0 || iy >= g.height || valid.isEmpty {
                        target.update(repeating: 0, count: ow)
                        continue
                    }
                    if valid.lowerBound > 0 { target.update(repeating: 0, count: valid.lowerBound) }
                    let source = plane + (iy &* g.width &+ valid.lowerBound &* s &- p &+ j)
                    if s == 1 {
                        (target + valid.lowerBound).update(from: source, count: valid.count)
                    } else {
                        for (n, ox) in valid.enumerated() { target[ox] = source[n &* s] }
                    }
                    if valid.upperBound < ow {
                        (target + valid.upperBound).update(repeating: 0, count: ow &- valid.upperBound)
                    }
                }
                row += positions
            }
        }
    }
}

/// The adjoint of `im2col`: adds every column entry back to the input pixel it was copied from.
/// `inputGradient [c, h, w]` is accumulated into (+=), so zero it first for a fresh gradient.
func col2im(_ g: ConvolutionGeometry, columns: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>) {
    let (oh, ow, k, s, p) = (g.outputHeight, g.outputWidth, g.kernelSize, g.stride, g.padding)
    let positions = oh &* ow
    var row = columns
    for channel in 0..<g.channels {
        let plane = inputGradient + channel &* g.height &* g.width
        for i in 0..<k {
            for j in 0..<k {
                let valid = g.validOutputColumns(kernelColumn: j)
                if !valid.isEmpty {
                    for oy in 0..<oh {
                        let iy = oy &* s &- p &+ i
                        if iy < 0 || iy >= g.height { continue }
                        // In the forward pass this was: target[ox] = source[(ox − low)·s].
                        let source = row + oy &* ow
                        let target = plane + (iy &* g.width &+ valid.lowerBound &* s &- p &+ j)
                        var n = 0
                        for ox in valid {
                            target[n &* s] += source[ox]
                            n &+= 1
                        }
                    }
                }
                row += positions
            }
        }
    }
}
