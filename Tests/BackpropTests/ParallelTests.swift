import Dispatch
import Foundation
import Synchronization
import Testing
import MatrixKernels

/// `Parallel.forEach` hands tasks out from a shared counter to the threads Dispatch gives it: every
/// task must run exactly once, nested and concurrent calls included, and the call must not return
/// before all have finished.
///
/// Serialized: `awakeWorkers` expects to hold the one set of awake workers, so no other test of
/// this suite may take it meanwhile.
@Suite("Fork-join", .serialized)
struct ParallelTests {
    /// Runs `forEach` and returns how often each task ran, as counted when the call returned.
    /// Each task counts in its own slot without a lock: under the thread sanitizer, a task run by
    /// two threads, or a count read before its writer finished, is a reported race.
    private func counts(tasks: Int, threads: Int, work: (Int) -> Void = { _ in }) -> [Int] {
        let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: tasks)
        defer { runs.deallocate() }
        runs.initialize(repeating: 0)
        Parallel.forEach(tasks: tasks, threads: threads) { task in
            work(task)
            runs[task] += 1
        }
        return Array(runs)
    }

    @Test("Every task runs exactly once, for any number of tasks and threads, job after job")
    func everyTaskOnce() {
        for tasks in [0, 1, 2, 3, 7, 64, 1000] {
            for threads in [1, 2, 3, 8] {
                #expect(counts(tasks: tasks, threads: threads) == [Int](repeating: 1, count: tasks),
                        "\(tasks) tasks on \(threads) threads")
            }
        }
        // Thousands of short jobs back to back.
        for round in 0..<5_000 {
            let tasks = 1 + round % 5
            #expect(counts(tasks: tasks, threads: 2) == [Int](repeating: 1, count: tasks))
        }
    }

    @Test("Nested calls and calls from many threads at once run every task once")
    func nestedAndConcurrent() {
        // A task that forks again.
        let inner = UnsafeMutableBufferPointer<Int>.allocate(capacity: 6)
        defer { inner.deallocate() }
        inner.initialize(repeating: 0)
        let outer = counts(tasks: 6, threads: 2) { task in inner[task] = counts(tasks: 10, threads: 2).reduce(0, +) }
        #expect(outer == [Int](repeating: 1, count: 6))
        #expect(Array(inner) == [Int](repeating: 10, count: 6))
        // Eight threads forking at once, as a server's requests do.
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { caller in
            for round in 0..<300 {
                let tasks = 1 + (caller + round) % 9
                if counts(tasks: tasks, threads: 2) != [Int](repeating: 1, count: tasks) {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    @Test("With workers kept awake: every task once, region after region, nested, waiting for the slowest, from many callers")
    func awakeWorkers() throws {
        #expect(!Parallel.workersAreAwake)
        let answer = withHeldAwakeWorkers { () -> Int in
            #expect(Parallel.workersAreAwake)
            for round in 0..<5_000 {
                let tasks = 1 + round % 7
                #expect(counts(tasks: tasks, threads: 2) == [Int](repeating: 1, count: tasks))
            }
            // A task's own regions are plain fork-joins: the awake workers serve one region at a time.
            let inner = UnsafeMutableBufferPointer<Int>.allocate(capacity: 6)
            defer { inner.deallocate() }
            inner.initialize(repeating: 0)
            let awakeInTask = Atomic<Int>(0)
            let outer = counts(tasks: 6, threads: 2) { task in
                if Parallel.workersAreAwake { awakeInTask.add(1, ordering: .relaxed) }
                inner[task] = counts(tasks: 10, threads: 2).reduce(0, +)
            }
            #expect(outer == [Int](repeating: 1, count: 6))
            #expect(Array(inner) == [Int](repeating: 10, count: 6))
            #expect(awakeInTask.load(ordering: .relaxed) == 0)
            let finished = Atomic<Int>(0)
            Parallel.forEach(tasks: 4, threads: 2) { task in
                if task == 3 { for _ in 0..<20_000 { _ = finished.load(ordering: .relaxed) } }
                finished.add(1, ordering: .relaxed)
            }
            #expect(finished.load(ordering: .relaxed) == 4)
            return 42
        }
        #expect(answer == 42)
        #expect(!Parallel.workersAreAwake)
        // Eight callers at once: one at a time gets awake workers, the others run as usual.
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { caller in
            for round in 0..<200 {
                Parallel.withAwakeWorkers(threads: 2) {
                    for region in 0..<3 {
                        let tasks = 1 + (caller + round + region) % 9
                        if counts(tasks: tasks, threads: 2) != [Int](repeating: 1, count: tasks) {
                            failures.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        // An error thrown inside leaves no workers awake behind it.
        struct Stop: Error {}
        #expect(throws: Stop.self) { try Parallel.withAwakeWorkers(threads: 2) { throw Stop() } }
        #expect(!Parallel.workersAreAwake)
    }

    /// `body` inside `Parallel.withAwakeWorkers`, once a call gets the workers: the process has one
    /// set, and another test running at the same time (the networks' short calls from many
    /// threads) may hold it, when a call runs without them (under the thread sanitizer, this test
    /// once found them taken). Nil when no try within ~20 s got them.
    func withHeldAwakeWorkers<R>(_ body: () -> R) -> R? {
        for _ in 0..<20_000 {
            var result: R?
            Parallel.withAwakeWorkers(threads: 2) { if Parallel.workersAreAwake { result = body() } }
            if let result { return result }
            usleep(1_000)
        }
        return nil
    }

    @Test("onlyInBursts: a call after a pause runs without awake workers, one right after another keeps them")
    func awakeOnlyInBursts() {
        func awake() -> Bool { Parallel.withAwakeWorkers(threads: 2, onlyInBursts: true) { Parallel.workersAreAwake } }
        // Other tests may be running inference (which uses this rule) or holding the workers at
        // the same time (a training run holds them through each of its steps, for seconds under
        // the thread sanitizer), so each side needs one clear case among tries made for up to
        // 30 s, not every try.
        var alone = 0, kept = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while (alone == 0 || kept == 0) && ContinuousClock.now < deadline {
            usleep(2_000)   // ten times the burst gap
            if !awake() { alone += 1 }
            if awake() { kept += 1 }   // at once after the previous call's end
        }
        #expect(alone > 0, "every call after a pause kept workers awake")
        #expect(kept > 0, "no call right after another kept workers awake")
    }

    @Test("The call returns only after its slowest task has finished")
    func waitsForAllTasks() {
        for _ in 0..<50 {
            let finished = Atomic<Int>(0)
            Parallel.forEach(tasks: 4, threads: 2) { task in
                // One slow task; whichever thread runs it, the call must wait for it.
                if task == 3 { for _ in 0..<20_000 { _ = finished.load(ordering: .relaxed) } }
                finished.add(1, ordering: .relaxed)
            }
            #expect(finished.load(ordering: .relaxed) == 4)
        }
    }
}
