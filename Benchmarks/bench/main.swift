import Backprop
import MatrixKernels
import Foundation

func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }
for path in KernelPath.allCases {
  for (m,n,k) in [(1024,1024,1024),(36864/64*1, 64, 288),(64,576,288),(128,128,9216)] {
    for threads in [1,2] {
    let a = (0..<m*k).map { _ in Float.random(in: -1...1) }
    let b = (0..<k*n).map { _ in Float.random(in: -1...1) }
    var c = [Float](repeating: 0, count: m*n)
    var best = 1e9
    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
      let p = MatrixProduct(m: m, n: n, k: k, a: MatrixOperand(a.baseAddress!, rowStride: k), b: MatrixOperand(b.baseAddress!, rowStride: n), c: c.baseAddress!, cRowStride: n, accumulate: false)
      for _ in 0..<5 {
        let t0 = now(); var reps = 0
        repeat { path.multiply(p, threads: threads); reps += 1 } while now() - t0 < 0.2
        best = min(best, (now()-t0)/Double(reps))
      }
      print(path, m, n, k, "T\(threads)", String(format: "%.1f GF/s", p.flops / best / 1e9))
    }}}
    }
  }
}
