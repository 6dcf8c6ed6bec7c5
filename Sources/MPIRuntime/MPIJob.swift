import Backprop
import CMPIShim
import Glibc

/// The MPI job this process is one rank of, when Open MPI's `mpirun` started it: the transport
/// behind ``DataParallel``. Open MPI is loaded at run time, so a process that `mpirun` did not
/// start neither loads nor needs it.
public final class MPIJob: Sendable {
    public let rank: Int
    public let size: Int

    /// Whether `mpirun` (Open MPI) started this process: it sets `OMPI_COMM_WORLD_SIZE`.
    public static var isLaunched: Bool { getenv("OMPI_COMM_WORLD_SIZE") != nil }

    /// Loads Open MPI and joins the job. Call once, and only when ``isLaunched``.
    /// - Throws: `MPIJobError` when libmpi cannot be loaded or initialised.
    public init() throws(MPIJobError) {
        var message = [CChar](repeating: 0, count: 512)
        guard backprop_mpi_load(&message, message.count) == 0 else {
            throw MPIJobError(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        guard backprop_mpi_init() == 0 else {
            throw MPIJobError("MPI_Init_thread failed or cannot serialise calls from several threads")
        }
        var (rank, size): (Int32, Int32) = (0, 0)
        guard backprop_mpi_rank(&rank) == 0, backprop_mpi_size(&size) == 0 else {
            throw MPIJobError("cannot query MPI_COMM_WORLD")
        }
        (self.rank, self.size) = (Int(rank), Int(size))
    }

    /// The job as ``DataParallel`` sees it: sums and broadcasts over MPI_COMM_WORLD.
    public var group: DataParallel {
        DataParallel(rank: rank, size: size,
                     sumDoubles: { values in Self.inChunks(values) { backprop_mpi_allreduce_sum_double($0, $1) } },
                     broadcast: { values in Self.inChunks(values) { backprop_mpi_broadcast_float($0, $1) } },
                     broadcastBytes: { bytes in
                         // The count first, so that the other ranks can make room.
                         var count = [Int64(bytes.count)]
                         count.withUnsafeMutableBufferPointer { Self.check(backprop_mpi_broadcast_long($0.baseAddress!, 1)) }
                         if bytes.count != Int(count[0]) { bytes = [UInt8](repeating: 0, count: Int(count[0])) }
                         bytes.withUnsafeMutableBufferPointer { buffer in
                             Self.inChunks(buffer) { backprop_mpi_broadcast_bytes($0, $1) }
                         }
                     },
                     allToAll: { send, counts, receive in
                         let rank = self.rank
                         let sendCounts = counts.map { Int32($0) }
                         let receiveCounts = Array(repeating: Int32(counts[rank]), count: counts.count)
                         Self.check(backprop_mpi_all_to_all_float(send.baseAddress, sendCounts, Self.offsets(sendCounts), receive.baseAddress,
                                                                  receiveCounts, Self.offsets(receiveCounts)))
                     },
                     allGather: { send, counts, receive in
                         let receiveCounts = counts.map { Int32($0) }
                         Self.check(backprop_mpi_all_gather_float(send.baseAddress, Int32(send.count), receive.baseAddress,
                                                                  receiveCounts, Self.offsets(receiveCounts)))
                     })
    }

    /// Where each piece starts, for pieces of `counts` elements laid end to end.
    private static func offsets(_ counts: [Int32]) -> [Int32] {
        var (offsets, next) = ([Int32](), Int32(0))
        for count in counts {
            offsets.append(next)
            next += count
        }
        return offsets
    }

    /// Ends the job normally; every rank must call it, after its last collective.
    public func finish() { _ = backprop_mpi_finalize() }

    /// Ends every rank of the job at once with `status` (when this rank cannot go on and the
    /// others may be waiting for it).
    public func abort(status: Int32) -> Never {
        _ = backprop_mpi_abort(status)
        exit(status)
    }

    /// MPI counts are 32-bit: larger buffers go in pieces.
    private static func inChunks<Element>(_ values: UnsafeMutableBufferPointer<Element>,
                                          _ call: (UnsafeMutablePointer<Element>, Int32) -> Int32) {
        var start = 0
        while start < values.count {
            let count = min(values.count - start, Int(Int32.max))
            check(call(values.baseAddress! + start, Int32(count)))
            start += count
        }
    }

    /// MPI's default error handler aborts the job on a failed call; a code that still comes back
    /// means the library is not in a state to go on.
    private static func check(_ status: Int32) {
        guard status == 0 else {
            let message = Array("Error: MPI call failed with code \(status)\n".utf8)
            _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            _ = backprop_mpi_abort(1)
            exit(1)
        }
    }
}

/// Open MPI cannot be loaded or started.
public struct MPIJobError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
