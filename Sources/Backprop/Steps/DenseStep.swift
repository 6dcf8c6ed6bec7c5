import MatrixKernels

// Legend: n batch, in input features, out output features.

/// Fully connected layer, optionally followed in the same pass by a ReLU applied in place while
/// the output is in cache (its epilogue, chosen when the network is compiled):
/// `output[n, out] = relu?(Σ_in input[n, in] · weight[out, in] + bias[out])`.
///
/// Parameters: weight `[out, in]` (PyTorch's `nn.Linear` layout), bias `[out]`. Input `[n, in]`,
/// output `[n, out]`.
public struct DenseStep: Step {
    public let layers: Range<Int>
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let parameterIndex: Int
    public var parameterCount: Int { 2 }
    public let inputSize: Int
    public let outputSize: Int
    /// Epilogue: max(0, ·) on the output.
    public let relu: Bool
    /// In inference plans: the BatchNorm after the layer, folded into its weights.
    public var normalization: FoldedBatchNorm? = nil

    public var description: String {
        "Dense \(inputSize)→\(outputSize)" + (normalization != nil ? " + BatchNorm (folded)" : "") + (relu ? " + ReLU" : "")
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], context: ExecutionContext) -> Tensor {
        precondition(input.rank == 2 && input.shape[1] == inputSize,
                     "DenseStep.forward: expected [batch, \(inputSize)], got \(input.shape)")
        // op(B) = wᵀ packs as its transpose, w [out × in] itself, NR wide.
        let (weight, bias, packed) = PreparedWeights.inferenceWeights(
            parameterIndex: parameterIndex, normalization: normalization, parameters: parameters, buffers: buffers,
            context: context, packedWidth: input.shape[0] > MatrixProduct.fewRows ? context.kernels.panelWidths.columns : nil)
        var terms: SparseMatrix?
        return forward(input, weight: weight, bias: bias, context: context, terms: &terms,
                       packedWeight: packed)
    }

    /// The product, by the table path when the context describes the input's thermometer columns
    /// and the batch fits them (leaving the batch's terms in `terms`; nil otherwise), else by GEMM,
    /// reading wᵀ from `packedWeight` when given. (Batches of at most `MatrixProduct.fewRows` rows
    /// are multiplied by reading w as it is: callers give no packed weight for them.)
    private func forward(_ input: Tensor, weight: Tensor, bias: Tensor, context: ExecutionContext,
                         terms: inout SparseMatrix?, packedWeight: [Float]? = nil) -> Tensor {
        let (m, n, k) = (input.shape[0], outputSize, inputSize)
        let relu = self.relu
        let columns = thermometerColumns(context)
        if columns != nil, let given = context.thermometerTerms, given.rows == m {
            terms = given
        } else {
            terms = columns.flatMap { columns in input.withUnsafeBufferPointer { columns.encode($0, rows: m, width: k, reusing: terms) } }
        }
        let table = terms.flatMap { _ in columns?.table(weight: weight, width: k, kernels: context.kernels) }
        return Tensor(shape: [m, n]) { out in
            bias.withUnsafeBufferPointer { b in
                for row in 0..<m { (out.baseAddress! + row * n).update(from: b.baseAddress!, count: n) }
            }
            if let terms, let table {
                // out[n × out] += terms[n × table rows] · table[table rows × out]
                terms.withSparseRows { sparse in
                    table.withUnsafeBufferPointer { t in
                        context.kernels.gather(sparse, table: t.baseAddress!, tableStride: n, output: out.baseAddress!,
                                               outputStride: n, width: n, threads: context.threads)
                    }
                }
            } else {
                input.withUnsafeBufferPointer { x in
                    // out[n × out] += x[n × in] · wᵀ: w stored [out × in], or wᵀ packed beforehand.
                    func add(_ transposedWeight: MatrixOperand) {
                        context.kernels.multiply(MatrixProduct(
                            m: m, n: n, k: k, a: MatrixOperand(x.baseAddress!, rowStride: k), b: transposedWeight,
                            c: out.baseAddress!, cRowStride: n, accumulate: true), threads: context.threads)
                    }
                    if let packedWeight {
                        packedWeight.withUnsafeBufferPointer { add(.packed($0.baseAddress!)) }
                    } else {
                        weight.withUnsafeBufferPointer { add(MatrixOperand($0.baseAddress!, rowStride: k, transposed: true)) }
                    }
                }
            }
            // out = max(0, out), in place
            if relu { reluForward(out.baseAddress!, out.baseAddress!, count: m * n) }
        }
    }

    public func forward(_ input: Tensor, parameters: [Tensor], buffers: [Tensor], memory: inout StepMemory,
                        context: inout ExecutionContext) -> Tensor {
        require(normalization == nil, "DenseStep: a folded BatchNorm is for inference plans only")
        let output = forward(input, weight: parameters[parameterIndex], bias: parameters[parameterIndex + 1], context: context,
                             terms: &memory.thermometerTerms)
        memory.input = input
        memory.output = relu ? output : Tensor(shape: [0])
        return output
    }

    /// Whether this step multiplies by the table of `columns` (given a batch that fits them): it is
    /// the network's first (its input is the network's) and the groups fit its input.
    func readsTable(of columns: ThermometerColumns) -> Bool { layers.lowerBound == 0 && columns.fits(width: inputSize) }

    /// The context's thermometer columns when they apply to this step.
    private func thermometerColumns(_ context: ExecutionContext) -> ThermometerColumns? {
        context.thermometerInput.flatMap { readsTable(of: $0) ? $0 : nil }
    }

    public func backward(_ incomingGradient: Tensor, parameters: [Tensor], memory: StepMemory, gradients: inout [Tensor],
                         context: ExecutionContext, needsInputGradient: Bool) -> Tensor? {
        let input = memory.input
        let batch = input.shape[0]
        precondition(incomingGradient.shape == [batch, outputSize],
                     "DenseStep.backward: expected [\(batch), \(outputSize)], got \(incomingGradient.shape)")
        // In the forward pass this was: out = max(0, out); mask the incoming gradient first.
        let outputGradient = !relu ? incomingGradient : Tensor(shape: incomingGradient.shape) { masked in
            incomingGradient.withUnsafeBufferPointer { dout in
                memory.output.withUnsafeBufferPointer { y in
                    reluBackward(dout.baseAddress!, output: y.baseAddress!, masked.baseAddress!, count: masked.count)
                }
            }
        }
        // In the forward pass this was: out = bias + x · wᵀ.
        outputGradient.withUnsafeBufferPointer { dout in
            gradients.withUnsafeMutableBufferPointer { all in
                if let terms = memory.thermometerTerms, let columns = thermometerColumns(context) {
                    // The forward took the table path. Each table row's gradient gathers the rows
                    // of dout that used it (the terms transposed); then it is folded into the weight's.
                    let tableRows = columns.tableRows(width: inputSize)
                    // Every row written by the gather (zeros where no row of dout used it).
                    var table = [Float].uninitialized(count: tableRows * outputSize)
                    terms.transposed(columns: tableRows).withSparseRows { sparse in
                        table.withUnsafeMutableBufferPointer { t in
                            context.kernels.gather(sparse, table: dout.baseAddress!, tableStride: outputSize,
                                                   output: t.baseAddress!, outputStride: outputSize, width: outputSize,
                                                   threads: context.threads, accumulate: false)
                        }
                    }
                    all[parameterIndex].withUnsafeMutableBufferPointer { dw in
                        columns.addWeightGradient(table: &table, outputs: outputSize, width: inputSize, into: dw.baseAddress!,
                                                 kernels: context.kernels)
                    }
                } else { input.withUnsafeBufferPointer { x in
                    // dweight[out × in] += doutᵀ[out × n] · x[n × in]
                    all[parameterIndex].withUnsafeMutableBufferPointer { dw in
                        precondition(dw.count == outputSize * inputSize, "DenseStep.backward: weight gradient has the wrong size")
                        context.kernels.multiply(MatrixProduct(
                            m: outputSize, n: inputSize, k: batch,
                            a: MatrixOperand(dout.baseAddress!, rowStride: outputSize, transposed: true),
                            b: MatrixOperand(x.baseAddress!, rowStride: inputSize),
                            c: dw.baseAddress!, cRowStride: inputSize, accumulate: true), threads: context.threads)
                    }
                } }
                // dbias[out] += Σ_n dout[n, out]
                all[parameterIndex + 1].withUnsafeMutableBufferPointer { db in
                    precondition(db.count == outputSize, "DenseStep.backward: bias gradient has the wrong size")
                    for row in 0..<batch {
                        let source = dout.baseAddress! + row * outputSize
                        for j in 0..<outputSize { db[j] += source[j] }
                    }
                }
            }
        }
        guard needsInputGradient else { return nil }
        let weight = parameters[parameterIndex]
        // dinput[n × in] = dout[n × out] · weight[out × in]
        return Tensor(shape: [batch, inputSize]) { dinp in
            outputGradient.withUnsafeBufferPointer { dout in
                weight.withUnsafeBufferPointer { w in
                    context.kernels.multiply(MatrixProduct(
                        m: batch, n: inputSize, k: outputSize,
                        a: MatrixOperand(dout.baseAddress!, rowStride: outputSize),
                        b: MatrixOperand(w.baseAddress!, rowStride: inputSize),
                        c: dinp.baseAddress!, cRowStride: inputSize, accumulate: false), threads: context.threads)
                }
            }
        }
    }
}

// MARK: - Reference

extension DenseStep {
    /// out[b, o] = bias[o] + Σ_i input[b, i] · weight[o, i], summed in Double (no epilogue).
    public static func referenceForward(input: Tensor, weight: Tensor, bias: Tensor) -> Tensor {
        let (n, inputs, outputs) = (input.shape[0], input.shape[1], weight.shape[0])
        var out = Tensor(shape: [n, outputs])
        for b in 0..<n {
            for o in 0..<outputs {
                var total = Double(bias.scalars[o])
                for i in 0..<inputs { total += Double(input.scalars[b * inputs + i]) * Double(weight.scalars[o * inputs + i]) }
                out.scalars[b * outputs + o] = Float(total)
            }
        }
        return out
    }

    /// The gradients of `referenceForward`: dinput = dout · weight, dweight = doutᵀ · input,
    /// dbias = Σ_b dout[b, ·].
    public static func referenceBackward(outputGradient dout: Tensor, input: Tensor,
                                         weight: Tensor) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        let (n, inputs, outputs) = (input.shape[0], input.shape[1], weight.shape[0])
        var (dinp, dweight, dbias) = (Tensor(shape: input.shape), Tensor(shape: weight.shape), Tensor(shape: [outputs]))
        for o in 0..<outputs {
            var biasTotal = 0.0
            for b in 0..<n { biasTotal += Double(dout.scalars[b * outputs + o]) }
            dbias.scalars[o] = Float(biasTotal)
            for i in 0..<inputs {
                var total = 0.0
                for b in 0..<n { total += Double(dout.scalars[b * outputs + o]) * Double(input.scalars[b * inputs + i]) }
                dweight.scalars[o * inputs + i] = Float(total)
            }
        }
        for b in 0..<n {
            for i in 0..<inputs {
                var total = 0.0
                for o in 0..<outputs { total += Double(dout.scalars[b * outputs + o]) * Double(weight.scalars[o * inputs + i]) }
                dinp.scalars[b * inputs + i] = Float(total)
            }
        }
        return (dinp, dweight, dbias)
    }
}
