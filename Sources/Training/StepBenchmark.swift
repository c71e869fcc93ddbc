import Foundation
import Kernels
import Models
import NN
import Randomness
import Tensors

/// Times a full training step (forward, backward, SGD update) of a ResNet on random data: the
/// number behind `invprop bench step`.
public enum StepBenchmark {
    /// Result of one configuration.
    public struct Result: Codable, Sendable {
        /// "fp32" or "bf16".
        public var precision: String
        /// Batch size.
        public var batchSize: Int
        /// Median seconds per step, and every measured step.
        public var medianSeconds: Double, seconds: [Double]
        /// Images per second at the median.
        public var imagesPerSecond: Double
        /// Peak resident memory of the process so far, MB.
        public var peakMemoryMB: Double
    }

    /// Runs `warmup` untimed and `steps` timed steps of ResNet `config` on [batch, C, size, size].
    public static func run(config: ResNetConfig, precision: DType, batchSize: Int, imageSize: Int, warmup: Int = 2, steps: Int = 5,
                           progress: (String) -> Void = { _ in }) throws -> Result {
        let step = try BareStep(config: config, precision: precision, batchSize: batchSize, imageSize: imageSize)
        var times: [Double] = []
        for i in 0..<(warmup + steps) {
            let seconds = try step.time()
            if i >= warmup { times.append(seconds) }
            progress(String(format: "%@ step %d/%d: %.3f s%@", precision == .f32 ? "fp32" : "bf16", i + 1, warmup + steps, seconds, i < warmup ? " (warm-up)" : ""))
        }
        let median = times.sorted()[times.count / 2]
        return Result(precision: precision == .f32 ? "fp32" : "bf16", batchSize: batchSize, medianSeconds: median, seconds: times,
                      imagesPerSecond: Double(batchSize) / median, peakMemoryMB: peakResidentMemoryMB())
    }

    /// Peak resident set size of this process in MB (Linux `VmHWM`).
    public static func peakResidentMemoryMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}

/// One network's bare training step (forward, cross-entropy on random labels, backward, SGD) on a
/// fixed random batch, ready to be timed again and again.
public final class BareStep {
    private let model: ResNet
    private let optimizer: SGD
    private let precision: DType
    /// [batch, C, size, size] random normal images and their random labels.
    private let images: Tensor, labels: [Int]

    /// A ResNet `config` (seeded) with SGD (lr 0.03, momentum 0.9, weight decay 5e-4) on a random batch.
    public init(config: ResNetConfig, precision: DType, batchSize: Int, imageSize: Int) throws {
        model = try ResNet(config, seed: 1)
        optimizer = try SGD(groups: [ParameterGroup(model.namedParameters, weightDecay: 5e-4)], learningRate: 0.03, momentum: 0.9)
        self.precision = precision
        var g = SeededGenerator(seed: 2)
        let n = batchSize * config.inputChannels * imageSize * imageSize
        images = try Tensor(shape: [batchSize, config.inputChannels, imageSize, imageSize], values: (0..<n).map { _ in Float(g.normal()) })
        labels = (0..<batchSize).map { _ in Int(g.next() % UInt64(config.outputDimension)) }
    }

    /// Runs one step and returns its wall-clock seconds.
    public func time() throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        optimizer.zeroGradients()
        let (_, output) = try model(images, training: true, precision: precision)
        let loss = try Tensor.crossEntropy(output, labels: labels)
        try loss.backward()
        optimizer.step()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
