import MatrixKernels

/// Weights an inference plan prepares once instead of on every call: a dense layer's weight
/// (BatchNorm folded in, if any) packed as the panels its product reads (`PanelPacking`).
///
/// Packing the weight is a pass over all of it, for every batch: for the MNIST CNN's 9216→128
/// layer, 4.7 MB copied to multiply a 64-image batch. A network owns one of these; any change of
/// its parameters or buffers replaces it with an empty one, so entries always describe the
/// current weights. Entries are made on first use, by whichever thread needs them first, and
/// read by many threads at once.
final class PreparedWeights: @unchecked Sendable {
    /// What an entry is: the packed weight of the step whose parameters start at `parameterIndex`,
    /// for `kernels`' panel widths.
    struct Key: Hashable {
        let parameterIndex: Int
        let kernels: KernelPath
    }

    private let lock = Lock()
    /// Guarded by `lock`.
    private var entries: [Key: [Float]] = [:]

    init() {}

    /// The entry for `key`, made by `make` the first time. `make` runs outside the lock; when two
    /// threads make the same entry at once, both results are equal and the first one stored wins.
    func entry(_ key: Key, make: () -> [Float]) -> [Float] {
        if let existing = lock.withLock({ entries[key] }) { return existing }
        let made = make()
        return lock.withLock {
            if let existing = entries[key] { return existing }
            entries[key] = made
            return made
        }
    }
}
