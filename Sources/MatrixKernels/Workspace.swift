/// A grow-only, 64-byte aligned scratch buffer of floats, owned by one task at a time.
///
/// Kernels take their packing and im2col buffers from here so that, once a network has seen its
/// batch shape, no kernel call allocates.
public final class Workspace: @unchecked Sendable {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0

    public init() {}

    deinit { storage?.deallocate() }

    /// Returns room for at least `count` floats. The contents are unspecified, and the pointer is
    /// valid until the next call to `floats(_:)` on this workspace.
    public func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity || storage == nil {
            storage?.deallocate()
            // Round up generously so that slowly growing requests do not reallocate each time.
            let newCapacity = max(count, capacity &* 3 / 2, 1024)
            storage = UnsafeMutableRawPointer.allocate(
                byteCount: newCapacity &* MemoryLayout<Float>.stride, alignment: 64)
            capacity = newCapacity
        }
        return storage!.assumingMemoryBound(to: Float.self)
    }
}

/// A process-wide pool of workspaces. A task checks one out for its duration, so concurrent
/// tasks never share scratch memory and the pool grows only to the peak number of tasks in flight.
public final class WorkspacePool: @unchecked Sendable {
    public static let shared = WorkspacePool()

    private var idle: [Workspace] = []
    private let lock = Lock()

    public init() {}

    /// Runs `body` with a workspace that no other task uses meanwhile.
    public func withWorkspace<R>(_ body: (Workspace) throws -> R) rethrows -> R {
        let workspace = lock.withLock { idle.popLast() } ?? Workspace()
        defer { lock.withLock { idle.append(workspace) } }
        return try body(workspace)
    }
}
