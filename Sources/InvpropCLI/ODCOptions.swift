import ArgumentParser
import Methods
import Training

/// Options of ODC (`MethodRegistry.odcOptions`); defaults in `ODCConfig`.
struct ODCCommandOptions: ParsableArguments {
    @Option(help: "Number of clusters K (default 100; choose it on --validation).") var clusters: Int?
    @Option(help: "Clusters smaller than this are dissolved and refilled every step (default 20).") var minClusterSize: Int?
    @Option(help: "Recompute the centroids every N steps (default 10).") var centroidInterval: Int?
    @Option(help: "Momentum m of the samples memory, memory ← (1 − m)·memory + m·f (default 0.5).") var odcMemoryMomentum: Float?
    @Option(help: "Power of the class re-weighting, w ∝ (1/size)^p (default 0.5).") var reweightPower: Float?
    @Option(help: "SGD momentum of the classification head (default 0, mmselfsup's).") var headMomentum: Float?

    /// Sets the options given here on `c`.
    func apply(to c: inout TrainingConfig) {
        var odc = c.methodOptions?.odc ?? ODCConfig()
        if let clusters { odc.clusters = clusters }
        if let minClusterSize { odc.minimumClusterSize = minClusterSize }
        if let centroidInterval { odc.centroidInterval = centroidInterval }
        if let odcMemoryMomentum { odc.memoryMomentum = odcMemoryMomentum }
        if let reweightPower { odc.reweightPower = reweightPower }
        if let headMomentum { odc.headMomentum = headMomentum }
        guard odc != (c.methodOptions?.odc ?? ODCConfig()) else { return }
        var options = c.methodOptions ?? MethodOptions()
        options.odc = odc
        c.methodOptions = options
    }
}
