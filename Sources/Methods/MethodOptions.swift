/// The options of the methods that keep theirs in a struct of their own, as one value that the
/// configuration and a run's `config.json` carry without naming any method (nil: that method's
/// defaults). A method with options adds its field here.
public struct MethodOptions: Sendable, Codable, Equatable {
    /// ODC's options.
    public var odc: ODCConfig?
    /// CoKe's options.
    public var coke: CoKeConfig?
    /// DARLING's options.
    public var darling: DARLINGConfig?

    /// Every method's defaults.
    public init() {}

    /// Throws naming the first option out of range; `datasetSize` N checks what depends on it
    /// (pass `.max` before the data is open).
    public func validate(datasetSize: Int) throws {
        try odc?.validate(datasetSize: datasetSize)
        try coke?.validate(datasetSize: datasetSize)
        try darling?.validate()
    }
}
