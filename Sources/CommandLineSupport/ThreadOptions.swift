import ArgumentParser
import Backprop

/// `--threads N`, shared by the tools' commands that run the numeric kernels.
public struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for the numeric kernels (default: all processors).")
    public var threads: Int = ExecutionContext.availableProcessors

    public init() {}

    public func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }
}
