import Foundation
import Synchronization

/// Ctrl-C as a request, not a kill: the first SIGINT sets a flag that training polls between
/// batches, so the run can stop cleanly and save what it learned; a second one exits at once.
public enum Interrupt {
    private static let requested = Atomic<Bool>(false)

    /// Installs the handler. Call once, before long work.
    public static func install() {
        // A launcher may have started us with SIGINT blocked (the mask is inherited across
        // exec); then Ctrl-C would stay pending and never stop training.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &blocked, nil)
        signal(SIGINT) { _ in
            if Interrupt.requested.exchange(true, ordering: .relaxed) { _exit(130) }
            // Only async-signal-safe work here: a static buffer and write(2), no allocation.
            let message: StaticString = "\ninterrupt: finishing the current batch and saving; press Ctrl-C again to quit now\n"
            _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
        }
    }

    /// Whether Ctrl-C was pressed.
    public static var isRequested: Bool { requested.load(ordering: .relaxed) }
}
