import SafeTensors
import Tensors

/// Errors when a saved state does not fit a layer.
public enum StateDictError: Error, CustomStringConvertible {
    /// A tensor the layer needs is absent from the archive.
    case missing(source: String, name: String)
    /// A tensor has another shape than the layer's.
    case shapeMismatch(source: String, name: String, expected: [Int], found: [Int])
    /// The archive holds model tensors the layer does not have (strict loading).
    case unexpected(source: String, names: [String])

    public var description: String {
        switch self {
        case .missing(let source, let name): return "\(source): tensor '\(name)' is missing (is this a checkpoint of the same architecture?)"
        case .shapeMismatch(let source, let name, let expected, let found):
            return "\(source): tensor '\(name)' has shape \(found), the model expects \(expected) (different architecture, width or input channels?)"
        case .unexpected(let source, let names):
            return "\(source): unexpected tensors for this model: \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")"
        }
    }
}

extension Layer {
    /// Parameters, running statistics (F32) and counters (I64) under PyTorch's state-dict names.
    public func stateDict(into archive: inout TensorArchive, prefix: String = "") throws {
        for (name, t) in namedParameters + namedBuffers {
            try archive.set(prefix + name, floats: t.toArray(), shape: t.shape)
        }
        for (name, value) in namedCounters {
            try archive.set(prefix + name, int64s: [Int64(value)], shape: [])
        }
    }

    /// Loads parameters, running statistics and counters saved by `stateDict` (or by PyTorch
    /// under the same names). Shapes are checked before anything is changed, so a mismatch
    /// leaves the layer as it was. With `strict`, other tensors under `prefix` are errors;
    /// `ignoring` lists name prefixes that are never model tensors (optimizer state, bank, …).
    public func loadStateDict(from archive: TensorArchive, prefix: String = "", source: String, strict: Bool = true,
                              ignoring: [String] = []) throws {
        let tensors = namedParameters + namedBuffers
        var values: [(Tensor, [Float])] = []
        for (name, t) in tensors {
            let key = prefix + name
            guard let entry = archive[key] else { throw StateDictError.missing(source: source, name: key) }
            guard entry.shape == t.shape else { throw StateDictError.shapeMismatch(source: source, name: key, expected: t.shape, found: entry.shape) }
            values.append((t, try archive.floats(key)))
        }
        var counters: [(String, Int)] = []
        for (name, _) in namedCounters {
            let key = prefix + name
            // PyTorch always saves num_batches_tracked; tolerate its absence in files from elsewhere.
            if archive.contains(key) { counters.append((name, Int(try archive.int64s(key).first ?? 0))) }
        }
        if strict {
            let known = Set(tensors.map { prefix + $0.0 } + namedCounters.map { prefix + $0.0 })
            let extra = archive.names.filter { $0.hasPrefix(prefix) && !known.contains($0) && !ignoring.contains(where: $0.hasPrefix) }
            if !extra.isEmpty { throw StateDictError.unexpected(source: source, names: extra) }
        }
        for (t, v) in values { try t.assign(from: Tensor(shape: t.shape, values: v)) }
        for (name, value) in counters { setCounter(name, value) }
    }
}
