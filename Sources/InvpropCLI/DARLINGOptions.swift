import ArgumentParser
import Methods
import Training

/// Options of DARLING (`MethodRegistry.darlingOptions` beyond the bank's); defaults in `DARLINGConfig`.
struct DARLINGCommandOptions: ParsableArguments {
    @Option(help: "Weight λ of the domain head's cross-entropy against the domain labels, 0…100 (default 1).") var domainWeight: Float?

    /// Sets the options given here on `c`.
    func apply(to c: inout TrainingConfig) {
        var darling = c.methodOptions?.darling ?? DARLINGConfig()
        if let domainWeight { darling.domainWeight = domainWeight }
        guard darling != (c.methodOptions?.darling ?? DARLINGConfig()) else { return }
        var options = c.methodOptions ?? MethodOptions()
        options.darling = darling
        c.methodOptions = options
    }
}
