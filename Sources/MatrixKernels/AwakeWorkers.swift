#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSystemSupport
import Dispatch
import Synchronization

// Why: a sleeping worker thread joins a parallel region ~40-50 µs after it is called on these
// machines (`bench --only forkjoin`), so work shorter than ~100 µs (one image through a CNN) gains
// nothing from a second thread. A pool that spins between all jobs did not pay either: it made
// LeNet training 0.9× (see README). Workers that stay awake only for the length of one short
// call — woken at its start, spinning between its parallel regions, leaving at its end — are
// awake when its second and later regions begin, and cost nothing outside it.

/// The workers of one `Parallel.withAwakeWorkers` call and the job they take tasks from.
///
/// The job is one 64-bit word: generation (24 bits) | first unclaimed task (20 bits) | one past
/// the last unclaimed task (20 bits). The caller claims tasks from the front, the workers from the
/// back, so each thread tends to take the same part of a job call after call (the part of a
/// dense layer's weights it read last time may still be in its core's cache). A task is claimed
/// by a compare-and-exchange of the word, so a worker that read an old job's word can never claim
/// from a newer one; the job's body is read only after a successful claim, and the caller
/// replaces it only once every task of its job has finished.
final class AwakeWorkers: @unchecked Sendable {
    static let generationShift: UInt64 = 40, frontShift: UInt64 = 20, field: UInt64 = (1 << 20) - 1
    /// Jobs of more tasks than one 20-bit field holds run as before.
    static let maximumTasks = Int(field)

    // The words the threads spin on, with 128 bytes of padding on either side so that no other
    // heap object shares their cache lines (a neighbour's every store would take the line from
    // the spinning worker).
    private let paddingBefore = CacheLinePadding()
    let state = Atomic<UInt64>(0)
    let finished = Atomic<Int>(0)
    let closed = Atomic<Bool>(false)
    private let paddingAfter = CacheLinePadding()
    /// The current job's body; written by the caller only while no task is claimed or running.
    var body: UncheckedSendable<(Int) -> Void>?
    /// True while the caller runs one of the job's tasks (a region nested in a task is then an
    /// ordinary fork-join: the awake workers serve one region at a time).
    var inJob = false

    /// Starts `count` workers (they join when the OS wakes them; nothing waits for that).
    init(count: Int) {
        for _ in 0..<count {
            DispatchQueue.global(qos: .userInitiated).async { [self] in work() }
        }
    }

    /// A worker: claims tasks of whichever job is current, spinning while there is none, until closed.
    private func work() {
        var idle = 0
        while true {
            if claimAndRun(fromFront: false) {
                idle = 0
                continue
            }
            if closed.load(ordering: .acquiring) { return }
            backprop_spin_pause()
            idle &+= 1
            // The caller may have been preempted: let another thread have this core now and then.
            if idle & 1023 == 0 { sched_yield() }
        }
    }

    /// Claims one task of the current job, the first or the last unclaimed one, and runs it;
    /// false when there is none to claim.
    @inline(__always)
    private func claimAndRun(fromFront: Bool) -> Bool {
        var word = state.load(ordering: .acquiring)
        while true {
            let front = (word >> Self.frontShift) & Self.field, back = word & Self.field
            if front >= back { return false }
            let (exchanged, original) = state.compareExchange(
                expected: word, desired: fromFront ? word &+ (1 << Self.frontShift) : word &- 1,
                ordering: .acquiringAndReleasing)
            if exchanged {
                body!.value(Int(fromFront ? front : back &- 1))
                finished.wrappingAdd(1, ordering: .releasing)
                return true
            }
            word = original
        }
    }

    /// Runs `body(task)` for every task in `0..<tasks` on the caller and the awake workers.
    func run(tasks: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            self.body = UncheckedSendable(body)
            finished.store(0, ordering: .relaxed)
            let generation = ((state.load(ordering: .relaxed) >> Self.generationShift) &+ 1) & ((1 << 24) - 1)
            state.store(generation << Self.generationShift | UInt64(tasks), ordering: .releasing)
            inJob = true
            while claimAndRun(fromFront: true) {}
            inJob = false
            // Every task is claimed; wait for those a worker is still running.
            while finished.load(ordering: .acquiring) < tasks { backprop_spin_pause() }
            self.body = nil
        }
    }

    /// The awake workers of the `withAwakeWorkers` call this thread is in, if any.
    static var current: AwakeWorkers? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<AwakeWorkers>.fromOpaque(pointer).takeUnretainedValue()
    }

    static func setCurrent(_ workers: AwakeWorkers?) {
        pthread_setspecific(key, workers.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    /// One call at a time in the whole process keeps workers awake, so that concurrent callers
    /// (a server's requests) never have more threads spinning than cores to spare.
    static let inUse = Atomic<Bool>(false)

    /// When the last `withAwakeWorkers` call of the process ended (CLOCK_MONOTONIC nanoseconds).
    static let lastCallEnd = Atomic<Int>(0)
    /// How soon after the previous call one must start to count as part of a burst: a dispatch
    /// thread that ran the last call's worker is then still awake and warm.
    static let burstGap = 200_000

    static func monotonicNanoseconds() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec &* 1_000_000_000 &+ time.tv_nsec
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // Not inside precondition(): this module is built with -Ounchecked, which drops it.
        let status = pthread_key_create(&key, nil)
        if status != 0 { fatalError("pthread_key_create failed: \(status)") }
        return key
    }()
}

/// 128 bytes that keep what lies on either side of them off each other's cache lines.
private struct CacheLinePadding {
    let words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

extension Parallel {
    /// Runs `body` with `threads - 1` worker threads kept awake for its duration, so that the
    /// parallel regions inside it (`forEach` on this thread) start at once instead of waiting for
    /// a sleeping thread to wake. For short calls made of several regions (a few images through a
    /// network: ~100 µs); the workers spin until `body` returns, so never for long work. When
    /// another call in this process already keeps workers awake, or `threads` is 1, `body` runs
    /// as it would without.
    ///
    /// With `onlyInBursts`, only a call that starts within 200 µs of the previous one's end keeps
    /// workers awake: after a pause the worker comes from a sleeping thread on a cold core, joins
    /// late, and the caller then waits for the tasks it took (one MNIST CNN image every 3 ms took
    /// 232 µs with awake workers against 185 on one thread; back to back, 104 µs against the
    /// previous build's 199: README, "one image on both cores").
    public static func withAwakeWorkers<R, Failure: Error>(threads: Int, onlyInBursts: Bool = false,
                                                           _ body: () throws(Failure) -> R) throws(Failure) -> R {
        let start = onlyInBursts ? AwakeWorkers.monotonicNanoseconds() : 0
        defer { if onlyInBursts { AwakeWorkers.lastCallEnd.store(AwakeWorkers.monotonicNanoseconds(), ordering: .relaxed) } }
        guard threads > 1, AwakeWorkers.current == nil,
              !onlyInBursts || start &- AwakeWorkers.lastCallEnd.load(ordering: .relaxed) <= AwakeWorkers.burstGap,
              AwakeWorkers.inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return try body() }
        let workers = AwakeWorkers(count: threads - 1)
        AwakeWorkers.setCurrent(workers)
        defer {
            AwakeWorkers.setCurrent(nil)
            workers.closed.store(true, ordering: .releasing)
            AwakeWorkers.inUse.store(false, ordering: .releasing)
        }
        return try body()
    }

    /// True on a thread inside `withAwakeWorkers` whose workers are awake: a parallel region then
    /// costs about a microsecond, so work far below the usual thresholds for a second thread is
    /// worth splitting.
    public static var workersAreAwake: Bool {
        guard let workers = AwakeWorkers.current else { return false }
        return !workers.inJob
    }
}
