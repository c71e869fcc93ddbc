import Models
import NN
import Tensors

/// The check that a checkpoint's network holds numbers. A run that diverged can save NaN or
/// infinite weights; such a network evaluates, embeds and exports without an error, at chance
/// accuracy, so it is refused when loaded instead. (The memory bank is checked when restored.)
public enum FiniteWeights {
    /// Throws naming `path`, the first parameter or running statistic of `model` that holds NaN
    /// or ±inf, and how many of its values are not finite.
    public static func require(_ model: ResNet, checkpoint path: String) throws {
        for (name, tensor) in model.namedParameters + model.namedBuffers {
            let values = tensor.toArray()
            guard let first = values.firstIndex(where: { !$0.isFinite }) else { continue }
            let count = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            throw EvaluationError(.file, "checkpoint \(path): tensor '\(name)' holds \(count) non-finite value(s) of \(values.count) "
                                  + "(the first, \(values[first]), at element \(first)); the run that saved it diverged, "
                                  + "so its network cannot be evaluated or exported (use an earlier checkpoint)")
        }
    }
}
