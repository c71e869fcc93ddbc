import ArgumentParser
import Methods
import Training

/// Options of CoKe (`MethodRegistry.cokeOptions`); defaults in `CoKeConfig`.
struct CoKeCommandOptions: ParsableArguments {
    @Option(help: "K of each clustering head, comma-separated (default 100,150,200; choose them on --validation).") var cokeClusters: String?
    @Option(help: "Temperature T of the logits (default 0.1).") var cokeTemperature: Float?
    @Option(help: "Step η of the dual variables (default 20).") var cokeDualLr: Float?
    @Option(help: "Every cluster keeps at least ratio/K of the data, ratio in (0, 1) (default 0.4).") var cokeRatio: Float?
    @Option(help: "Weight β of the predictor's term; 1 − β weighs the encoder's own (default 1).") var cokeBeta: Float?
    @Option(help: "Hidden width of the predictor (default: the backbone's feature width).") var predictorWidth: Int?
    @Flag(help: "A batch norm on the encoder's output before the assignment, the loss and the predictor, as the authors' encoder ends in one (one process only).")
    var cokeEncoderNorm = false

    /// Sets the options given here on `c`.
    func apply(to c: inout TrainingConfig) throws {
        var coke = c.methodOptions?.coke ?? CoKeConfig()
        if let cokeClusters { coke.clusters = try parseList(cokeClusters, option: "--coke-clusters") }
        if let cokeTemperature { coke.temperature = cokeTemperature }
        if let cokeDualLr { coke.dualLearningRate = cokeDualLr }
        if let cokeRatio { coke.ratio = cokeRatio }
        if let cokeBeta { coke.beta = cokeBeta }
        if let predictorWidth { coke.predictorWidth = predictorWidth }
        if cokeEncoderNorm { coke.encoderNorm = true }
        guard coke != (c.methodOptions?.coke ?? CoKeConfig()) else { return }
        var options = c.methodOptions ?? MethodOptions()
        options.coke = coke
        c.methodOptions = options
    }
}
