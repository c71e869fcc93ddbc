import Kernels

/// How the gradient of one recorded operation is computed: the operation's inputs and a closure
/// mapping the output's gradient to one gradient per input (nil where none is needed).
final class Node {
    let name: String
    let inputs: [Tensor]
    let backward: (Tensor) -> [Tensor?]

    init(_ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether operations are recorded for differentiation (off for evaluation).
public enum GradMode {
    /// Task-local so that concurrent tasks (and tests) do not switch each other's recording.
    @TaskLocal static var enabled = true

    /// Runs `body` without recording operations (like `torch.no_grad()`).
    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        try $enabled.withValue(false) { try body() }
    }

    /// Whether recording is on.
    public static var isEnabled: Bool { enabled }
}

extension Tensor {
    /// Attaches a backward rule to a freshly computed result when any input requires gradients.
    func record(_ name: String, _ inputs: [Tensor?], _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        let present = inputs.compactMap { $0 }
        guard GradMode.enabled, present.contains(where: { $0.requiresGrad }) else { return self }
        requiresGrad = true
        // Keep positions aligned with the closure's output by passing the compacted list and
        // mapping the closure's per-input gradients onto it.
        let mask = inputs.map { $0 != nil }
        node = Node(name, present) { g in zip(mask, backward(g)).filter { $0.0 }.map { $0.1 } }
        return self
    }

    /// Computes gradients of this tensor (a scalar unless `seed` is given) with respect to every
    /// leaf tensor that requires them, accumulating into their `grad`. Frees the graph afterwards.
    public func backward(seed: Tensor? = nil) throws {
        if seed == nil && count != 1 {
            throw TensorError.invalidArgument("backward() without a seed needs a one-element tensor, got shape \(shape)")
        }
        if let seed, seed.shape != shape { throw TensorError.shapeMismatch("backward seed \(seed.shape) vs \(shape)") }
        // Topological order of the recorded graph (iterative DFS: ResNet graphs are deep).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if visited.contains(ObjectIdentifier(t)) { continue }
            visited.insert(ObjectIdentifier(t))
            stack.append((t, true))
            for input in t.node?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [:]
        grads[ObjectIdentifier(self)] = seed ?? Tensor.full(shape, 1)
        for t in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
            if let node = t.node {
                let inputGrads = node.backward(g)
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let ig else { continue }
                    let key = ObjectIdentifier(input)
                    grads[key] = grads[key].map { Tensor.sum($0, ig) } ?? ig
                }
            } else if t.requiresGrad {
                let plain = g.converted(to: Layout.plain(t.shape, .f32))
                t.grad = t.grad.map { Tensor.sum($0, plain) } ?? plain
            }
        }
        // Release saved activations: the graph is used once (like retain_graph=False).
        for t in order { t.node = nil }
    }

    /// Element-wise a + b in a's layout (layouts may differ). Not recorded.
    static func sum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = Tensor(layout: a.layout)
        Accumulate.sum([a.operand, b.converted(to: a.layout).operand], into: out.operand)
        return out
    }
}
