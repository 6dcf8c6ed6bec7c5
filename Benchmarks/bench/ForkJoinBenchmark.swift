import MatrixKernels

extension Bench {
    /// What a parallel region costs when its threads have been idle: `Parallel.forEach` of two
    /// tasks of 50 and of 100 µs (busy-waiting on the clock), each call after 300 µs of serial
    /// work, as between two layers. With both threads at once a call takes one task's time; each
    /// microsecond above it is the second thread joining late. Then the same inside
    /// `Parallel.withAwakeWorkers`, as one short inference call runs: the serial work and the
    /// region timed together (300 µs + one task's time when the worker is awake at once).
    func benchmarkForkJoin(timer: inout SampleTimer) {
        func busy(_ microseconds: Double) {
            let end = LoadMonitor.now() + microseconds * 1e-6
            while LoadMonitor.now() < end {}
        }
        for task in [50, 100] {
            timer.measureLatency("forkjoin_2x\(task)us_after_300us", repetitions: quick ? 50 : 200,
                                 before: { busy(300) }) {
                Parallel.forEach(tasks: 2, threads: threads) { _ in busy(Double(task)) }
            }
        }
        for task in [50, 100] {
            timer.measureLatency("forkjoin_awake_300us_then_2x\(task)us", repetitions: quick ? 50 : 200) {
                Parallel.withAwakeWorkers(threads: threads) {
                    busy(300)
                    Parallel.forEach(tasks: 2, threads: threads) { _ in busy(Double(task)) }
                }
            }
        }
    }
}
