import Data
import Evaluation
import CFuzzerDriver
import FuzzSupport
import Methods
import Models
import NN
import RunFormat
import SafeTensors
import Tensors
import Training

// A safetensors file read as a training checkpoint, along the path `invprop train --resume`
// and `invprop eval` take: the archive, the evaluation's `CheckpointDescription` and
// `EvaluationSession.openNetwork` (from a scratch file, for small networks), the trainer's
// `Checkpoint.header` (configuration and progress records), the configuration's validation, and,
// when that passes, `Checkpoint.restore` into a network, optimizer and method built from it.

/// Training images the method's state is sized for (the seeds' bank has this many rows).
let datasetSize = 64

/// The network restore targets: the configuration's own when its backbone is small (a ResNet-18
/// at width ≤ 1/8, as the seeds'), else a fixed tiny ResNet-18, so that a header naming a
/// 4×-wide ResNet-50, a legitimate network of 1.6 GB, costs no gigabytes per execution. The
/// head's output dimension is taken as stated: validation must bound it.
func network(for config: ResNetConfig) throws -> ResNet {
    try ResNet(isSmall(config) ? config : tinyNetwork, seed: 0)
}

/// A ResNet-18 backbone at width ≤ 1/8, whatever its head.
func isSmall(_ config: ResNetConfig) -> Bool { config.depth == 18 && config.width <= 0.125 }

/// The seeds' network: ResNet-18 at width 1/64 (stage widths 1, 2, 4, 8), grey input, 16 outputs.
let tinyNetwork = ResNetConfig(depth: 18, stem: .cifar, inputChannels: 1, width: 1.0 / 64, head: .linear, outputDimension: 16)

/// True for the library's own error types, the clean way for a bad checkpoint to fail.
func isLibraryError(_ error: Error) -> Bool {
    error is SafeTensorsError || error is TrainingError || error is EvaluationError || error is TensorError
        || error is MethodsError || error is DataError || error is StateDictError
}

/// The method the configuration names, sized for `datasetSize` images of `dimension` features.
func method(for config: TrainingConfig, dimension: Int, backboneWidth: Int) throws -> any TrainingMethod {
    var setup = MethodSetup(invp: config.invp, datasetSize: datasetSize, dimension: dimension, seed: config.seed)
    setup.options = config.methodOptions ?? MethodOptions()
    setup.backboneWidth = backboneWidth
    return try MethodRegistry.make(config.method, setup: setup)
}

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = "fuzz.safetensors"
    Harness.expectClean({
        let archive = try TensorArchive(decoding: Harness.bytes(data, size), source: path)
        var described: CheckpointDescription?
        Harness.expectClean({ described = try CheckpointDescription(archive: archive, path: path) }, isExpected: isLibraryError)
        if let model = described?.model, isSmall(model) {
            // What `invprop eval` and `export` do with the file: the architecture keys against the
            // configuration, the network built, the weights loaded strictly.
            let file = Harness.scratchPath("checkpoint.safetensors")
            Harness.write(Harness.bytes(data, size), to: file)
            Harness.expectClean({ _ = try EvaluationSession.openNetwork(checkpoint: file) }, isExpected: isLibraryError)
        }
        let (config, _) = try Checkpoint.header(archive, path: path)
        // What the trainer decodes, evaluation decodes too (it reads a subset of the fields).
        Harness.require(described != nil, "Checkpoint.header accepted a configuration CheckpointDescription rejected")
        Harness.require(described?.model == config.model && described?.method == config.method,
                        "the two configuration readers disagree on the network or method")
        try config.validate()
        let model = try network(for: config.model)
        let head = model.config.head == .none ? model.config.featureDimension : model.config.outputDimension
        let trainingMethod = try method(for: config, dimension: head, backboneWidth: model.config.featureDimension)
        var groups = [ParameterGroup(model.namedParameters, weightDecay: 5e-4)]
        if let module = trainingMethod.module {
            groups.append(ParameterGroup(module.layer.namedParameters.map { (CheckpointKey.methodModulePrefix + $0.0, $0.1) },
                                         weightDecay: 5e-4, momentum: module.momentum))
        }
        let optimizer = try SGD(groups: groups, learningRate: 0.1, momentum: 0.9)
        try Checkpoint.restore(archive, path: path, model: model, optimizer: optimizer, method: trainingMethod)
    }, isExpected: isLibraryError)
    return 0
}

/// A complete checkpoint of the tiny network for `methodName`, as training writes it.
func seedCheckpoint(methodName: String) throws -> [UInt8] {
    var config = TrainingConfig()
    config.dataset = "shapes"
    config.model = tinyNetwork
    config.method = methodName
    config.invp.backgroundCount = 16
    config.invp.positiveCount = 4
    config.batchSize = 8
    config.epochs = 2
    let model = try ResNet(config.model, seed: 1)
    let trainingMethod = try method(for: config, dimension: config.model.outputDimension, backboneWidth: model.config.featureDimension)
    let optimizer = try SGD(groups: [ParameterGroup(model.namedParameters, weightDecay: 5e-4)], learningRate: 0.1, momentum: 0.9)
    var progress = TrainingProgress()
    progress.epoch = 1
    progress.globalStep = 8
    progress.epochLossSums = [1.5, 0.5]
    return try Checkpoint.archive(config: config, progress: progress, model: model, optimizer: optimizer, method: trainingMethod).encoded()
}

/// libFuzzer's initialisation hook: writes the seed corpus when asked (see `Harness`).
@_cdecl("LLVMFuzzerInitialize")
public func initializeCheckpoint(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    Harness.writeSeedsIfAsked {
        [
            (name: "invp-tiny.safetensors", bytes: try seedCheckpoint(methodName: "invp")),
            (name: "npid-tiny.safetensors", bytes: try seedCheckpoint(methodName: "npid")),
        ]
    }
    return 0
}

/// The process entry point SwiftPM links as `main`: runs libFuzzer with `fuzzCheckpoint`.
@_cdecl("FuzzCheckpoint_main")
public func fuzzCheckpointMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    invprop_fuzz_run(argc, argv, fuzzCheckpoint)
}
