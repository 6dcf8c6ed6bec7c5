import ArgumentParser
import Backprop
import MPIRuntime
import Glibc

/// How a `train` command runs: as the only process, or as one rank of an MPI job that `mpirun`
/// started (`mpirun -np 4 digits train ...`), training data-parallel (see ``DataParallel``).
///
/// In an MPI job rank 0 alone prints, writes checkpoints, reports and the model; the other ranks
/// are muted (``Console/mute()``). A failure ends the whole job with one message naming the rank:
/// failures that ranks agree on (``DataParallel/together(_:)``) end every rank cleanly; any other
/// error on one rank aborts the job, since the other ranks may be waiting for it.
public final class TrainingJob {
    /// Nil when this process trains alone.
    public let group: DataParallel?
    private let mpi: MPIJob?

    /// Joins the MPI job when `mpirun` started this process; otherwise a job of one process.
    public init() throws {
        guard MPIJob.isLaunched else {
            (group, mpi) = (nil, nil)
            return
        }
        do {
            let mpi = try MPIJob()
            (self.mpi, group) = (mpi, mpi.group)
        } catch {
            throw CommandLineError("started by mpirun, but \(error)")
        }
        if mpi!.rank != 0 { Console.mute(); Interrupt.silence() }
    }

    /// Whether this process prints and writes files: rank 0, or the only process.
    public var isLead: Bool { group?.isLead ?? true }

    /// Runs `body` (the whole training command) and ends the job as described above.
    public func run(_ body: () throws -> Void) throws {
        guard let mpi else { return try body() }
        do {
            try body()
            mpi.finish()
        } catch DataParallelFailure.elsewhere {
            // The rank that failed says why; mpirun ends the job once a rank exits with an error,
            // so no "finishing the current batch" when that stops this one.
            Interrupt.restoreDefaults()
            endQuietly()
        } catch let failure as DataParallelFailure {
            Interrupt.restoreDefaults()
            endReporting(failure.description)
        } catch let error as TrainingDivergedError {
            // The ranks decide divergence on the same summed figures: each throws this at once.
            if mpi.rank == 0 { endReporting(error.description) } else { endQuietly() }
        } catch let exit as ExitCode {
            // An interrupted run: the stop request travels in the ranks' sum, so all stop together.
            mpi.finish()
            throw exit
        } catch {
            StandardStreams.writeReportingLater(Array("Error: rank \(mpi.rank): \(error)\n".utf8), to: 2)
            mpi.abort(status: 1)
        }
    }

    /// Ends this rank of a job that failed with `message`, which this rank says. It says it before
    /// finishing MPI, which the other ranks wait for before they exit: mpirun kills the job at
    /// the first exit with an error, and the message must be out by then.
    private func endReporting(_ message: String) -> Never {
        StandardStreams.writeReportingLater(Array("Error: \(message)\n".utf8), to: 2)
        mpi!.finish()
        exit(1)
    }

    /// Ends this rank of a job that failed where another rank reports it (``endReporting(_:)``).
    private func endQuietly() -> Never {
        mpi!.finish()
        exit(1)
    }

    /// `group.together(body)`, or just `body()` for a process alone.
    public func together<T>(_ body: () throws -> T) throws -> T {
        guard let group else { return try body() }
        return try group.together(body)
    }
}
