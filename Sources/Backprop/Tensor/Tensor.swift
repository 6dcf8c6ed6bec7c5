/// A dense, row-major array of Float32 values with a shape. Images are NCHW.
///
/// A value type over `[Float]`: copies are cheap until one side writes (copy-on-write), and
/// kernels enter raw memory once per call through `withUnsafeBufferPointer`.
public struct Tensor: Equatable, Sendable, CustomStringConvertible {
    /// The extent of each dimension, outermost first; `[]` is a scalar.
    public private(set) var shape: [Int]
    /// The elements in row-major order; always `shape.reduce(1, *)` of them. Write through
    /// `withUnsafeMutableBufferPointer` or the subscript, which cannot change the count.
    public package(set) var scalars: [Float]

    /// A tensor with the given shape and elements.
    /// - Precondition: `scalars.count` equals the product of `shape`, and no extent is negative.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(Tensor.elementCount(shape) == scalars.count,
                     "Tensor: shape \(shape) needs \(Tensor.elementCount(shape)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: Tensor.elementCount(shape)))
    }

    /// A tensor whose elements are written by `initializer`, which must write all `count` of them.
    /// Avoids zero-filling memory that a kernel overwrites anyway.
    public init(shape: [Int], uninitialized initializer: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let count = Tensor.elementCount(shape)
        self.shape = shape
        self.scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            initializer(buffer)
            initialized = count
        }
    }

    /// Calls `body` with the elements' memory, for reading.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the elements' memory, for reading and writing in place.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Sets every element to 0, in place.
    public mutating func zero() {
        scalars.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Multiplies every element by `factor`, in place.
    public mutating func scale(by factor: Float) {
        scalars.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] *= factor }
        }
    }

    /// Writes the elements to `buffer[offset ..< offset + count]` and advances `offset` past them
    /// (packing several tensors into one flat buffer).
    public func copy(to buffer: inout [Float], at offset: inout Int) {
        precondition(offset >= 0 && offset + count <= buffer.count, "Tensor.copy(to:): \(count) elements do not fit at \(offset)")
        buffer.withUnsafeMutableBufferPointer { target in
            _ = UnsafeMutableBufferPointer(rebasing: target[offset..<(offset + count)]).update(fromContentsOf: scalars)
        }
        offset += count
    }

    /// Reads the elements from `buffer[offset ..< offset + count]` and advances `offset` past them.
    public mutating func copy(from buffer: [Float], at offset: inout Int) {
        precondition(offset >= 0 && offset + count <= buffer.count, "Tensor.copy(from:): \(count) elements do not fit at \(offset)")
        let start = offset
        scalars.withUnsafeMutableBufferPointer { target in
            buffer.withUnsafeBufferPointer { source in
                _ = target.update(fromContentsOf: UnsafeBufferPointer(rebasing: source[start..<(start + target.count)]))
            }
        }
        offset += count
    }

    /// The number of elements.
    public var count: Int { scalars.count }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Element at a multi-dimensional index (for tests and small tools, not for hot loops).
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    /// Rows `range` of the outermost dimension (samples of a batch), as a new tensor.
    public func slice(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "Tensor.slice: \(range) out of 0..<\(shape.first ?? 0)")
        let stride = shape.dropFirst().reduce(1, *)
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape,
                      scalars: Array(scalars[(range.lowerBound * stride)..<(range.upperBound * stride)]))
    }

    /// Whether every element is finite (no NaN, no infinity).
    public var isFinite: Bool {
        scalars.withUnsafeBufferPointer { buffer in
            // x - x is 0 for finite x and NaN for NaN or ±inf; summing stays NaN once NaN appears.
            var check: Float = 0
            for value in buffer { check += value - value }
            return check == 0
        }
    }

    public var description: String { "Tensor(shape: \(shape), first: \(scalars.prefix(8)))" }

    /// The product of the extents: how many scalars a tensor of this shape holds.
    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1) { product, extent in
            let (result, overflow) = product.multipliedReportingOverflow(by: extent)
            precondition(!overflow, "Tensor: shape \(shape) overflows Int")
            return result
        }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor: index \(index) for shape \(shape)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "Tensor: index \(index) out of shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }
}
