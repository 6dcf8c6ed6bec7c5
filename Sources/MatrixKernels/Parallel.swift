import Dispatch
import Synchronization

/// Fork-join over independent tasks on a bounded number of threads.
public enum Parallel {
    /// Runs `body(task)` once for every task in `0..<tasks`, on at most `threads` threads, and
    /// returns when all have finished.
    ///
    /// Tasks are handed out one at a time from a shared counter rather than split in fixed
    /// halves: when another process holds one core, the thread that still has a core simply
    /// takes more tasks, so two threads never run slower than one. Results must not depend on
    /// which thread runs a task (callers give every task its own output range). Inside
    /// ``withAwakeWorkers(threads:onlyInBursts:_:)``, on its thread, the tasks go to its awake
    /// workers.
    public static func forEach(tasks: Int, threads: Int, _ body: (_ task: Int) -> Void) {
        let workers = min(max(threads, 1), tasks)
        if workers <= 1 {
            for task in 0..<tasks { body(task) }
            return
        }
        if let awake = AwakeWorkers.current, !awake.inJob, tasks <= AwakeWorkers.maximumTasks {
            awake.run(tasks: tasks, body)
            return
        }
        let next = Atomic<Int>(0)
        // concurrentPerform runs iteration 0 on the calling thread; with `workers` iterations at
        // most that many threads ever run our tasks, which is how `threads` is honoured.
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let task = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if task >= tasks { break }
                    box.value(task)
                }
            }
        }
    }
}

/// Wraps a value that is only ever used under the fork-join discipline of `Parallel.forEach`.
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}
