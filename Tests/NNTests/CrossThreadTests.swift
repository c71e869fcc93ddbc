import Foundation
import Models
import Randomness
import Testing
import Tensors

/// Kernels are cached process-wide, so a primitive created on one thread is executed on others
/// (Swift concurrency moves work between threads). With oneDNN's library-owned scratchpad,
/// which is thread-local to the creating thread, that wrote through a null pointer; the engine
/// now hands every execution its own scratchpad.
@Suite struct CrossThreadTests {
    /// One training step of a small ResNet-18 (fp32 and bf16) at a shape no other test uses;
    /// returns the output and the stem's weight gradient of each precision.
    static func workload() throws -> [[Float]] {
        var rng = SeededGenerator(seed: 41)
        let x = try Tensor(shape: [24, 1, 20, 20], values: (0..<24 * 400).map { _ in rng.uniformFloat(-1, 1) })
        var out: [[Float]] = []
        for precision in [DType.f32, .bf16] {
            let model = try ResNet(ResNetConfig(depth: 18, stem: .cifar, inputChannels: 1, width: 0.125, head: .linear, outputDimension: 16), seed: 3)
            let (_, y) = try model(x, training: true, precision: precision)
            try Tensor.sumAll(y).backward()
            out.append(y.toArray())
            out.append(model.namedParameters.first!.1.grad!.toArray())
        }
        return out
    }

    /// Runs `workload` on a brand-new thread (no oneDNN state of its own) and waits for it.
    static func onFreshThread() throws -> [[Float]] {
        final class Box: @unchecked Sendable { var result: Result<[[Float]], Error>? }
        let box = Box(), done = DispatchSemaphore(value: 0)
        let thread = Thread { box.result = Result { try workload() }; done.signal() }
        thread.start()
        done.wait()
        return try box.result!.get()
    }

    @Test func primitivesCreatedOnOneThreadRunOnAnother() throws {
        let first = try Self.onFreshThread()    // creates the primitives
        let second = try Self.onFreshThread()   // finds them in the cache and executes them
        let third = try Self.workload()         // and the test's own thread
        #expect(first == second && second == third)
    }
}
