import Foundation
import Synchronization

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP as a request, not a kill: the first one sets a flag that
/// training polls between batches, so the run can stop cleanly and keep what it learned; a second
/// one exits at once.
public enum Interrupt {
    /// The signal received first, 0 before any.
    private static let received = Atomic<Int32>(0)
    /// Whether the handlers stay silent (ranks other than 0 of an MPI job, which all get the
    /// signal: one message is enough).
    private static let silent = Atomic<Bool>(false)

    /// Stops the handlers from printing; the signals still stop training.
    public static func silence() { silent.store(true, ordering: .relaxed) }

    /// Installs the handlers. Call once, before long work.
    public static func install() {
        // A launcher may have started us with these signals blocked (the mask is inherited across
        // exec); then they would stay pending and never stop training.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&blocked, signal) }
        pthread_sigmask(SIG_UNBLOCK, &blocked, nil)
        // Only async-signal-safe work in the handlers: an atomic, static text and write(2).
        signal(SIGINT) { _ in
            Interrupt.request(SIGINT, "\ninterrupt (Ctrl-C): finishing the current batch and saving; press Ctrl-C again to quit now\n")
        }
        signal(SIGTERM) { _ in
            Interrupt.request(SIGTERM, "\nterminate (SIGTERM): finishing the current batch and saving; a second signal quits now\n")
        }
        signal(SIGHUP) { _ in
            Interrupt.request(SIGHUP, "\nhang-up (SIGHUP): finishing the current batch and saving; a second signal quits now\n")
        }
    }

    /// Puts the default actions back (a signal then ends the process at once, silently).
    public static func restoreDefaults() {
        for signal in [SIGINT, SIGTERM, SIGHUP] { Glibc.signal(signal, SIG_DFL) }
    }

    private static func request(_ signal: Int32, _ message: StaticString) {
        let (exchanged, _) = received.compareExchange(expected: 0, desired: signal, ordering: .relaxed)
        if !exchanged { _exit(128 + signal) }
        if silent.load(ordering: .relaxed) { return }
        _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
    }

    /// Whether a stop was requested.
    public static var isRequested: Bool { received.load(ordering: .relaxed) != 0 }

    /// The exit status for a run stopped by the signal received (130 for Ctrl-C, 143 for SIGTERM,
    /// 129 for SIGHUP), as a shell reports a process that signal killed.
    public static var exitStatus: Int32 { 128 + max(1, received.load(ordering: .relaxed)) }

    /// What a training command says when it stopped early: whether and where the model was saved
    /// and how to continue.
    public static func trainingStopped(saved: Bool, output: String, epochsCompleted: Int, epochs: Int) -> String {
        saved
            ? "stopped after \(epochsCompleted) of \(epochs) epochs: the model learned so far is saved to \(output); "
                + "continue with the same command and --resume"
            : "stopped before the first epoch finished: nothing was saved, and \(output) is unchanged"
    }
}
