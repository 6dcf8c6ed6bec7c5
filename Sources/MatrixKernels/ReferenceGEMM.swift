/// The naive triple loop: the definition every fast GEMM path is tested against.
/// Sums each dot product in Double so that it is also a more accurate reference than the fast paths.
public func referenceMultiply(_ p: MatrixProduct) {
    precondition(!p.a.isPacked && !p.b.isPacked, "the reference reads unpacked operands only")
    for i in 0..<p.m {
        for j in 0..<p.n {
            var sum = 0.0
            for l in 0..<p.k {
                let a = p.a.isTransposed ? p.a.base[l * p.a.rowStride + i] : p.a.base[i * p.a.rowStride + l]
                let b = p.b.isTransposed ? p.b.base[j * p.b.rowStride + l] : p.b.base[l * p.b.rowStride + j]
                sum += Double(a) * Double(b)
            }
            let cij = p.c + (i * p.cRowStride + j)
            cij.pointee = p.accumulate ? Float(Double(cij.pointee) + sum) : Float(sum)
        }
    }
}
