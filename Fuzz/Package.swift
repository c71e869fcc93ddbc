// swift-tools-version:6.0
// libFuzzer targets for every reader of outside bytes (see docs/reliability.md, "Fuzzing").
// A package of its own so the main package stays free of sanitizer-only targets: `make fuzz`
// builds it with `-Xswiftc -sanitize=fuzzer,address` into `.build-fuzz`, which instruments the
// library modules it uses as well. Each executable defines `LLVMFuzzerTestOneInput` and, since
// SwiftPM links executables with `--defsym main=<Module>_main`, a `<Module>_main` that starts
// libFuzzer's driver through CFuzzerDriver.
import PackageDescription

let libraries: [Target.Dependency] = [
    .product(name: "InvpropKit", package: "invprop"),
]

/// One fuzz executable per reader, all on the shared harness.
func fuzzTarget(_ name: String) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport", "CFuzzerDriver"] + libraries,
                      swiftSettings: [.unsafeFlags(["-parse-as-library"])])
}

let package = Package(
    name: "invprop-fuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "invprop", path: "..")],
    targets: [
        // Starts libFuzzer's driver (LLVMFuzzerRunDriver) from a Swift entry point.
        .target(name: "CFuzzerDriver"),
        // The harness: per-process scratch files, the "clean outcome" check, seed writing.
        .target(name: "FuzzSupport", dependencies: libraries),
        fuzzTarget("FuzzIDX"),
        fuzzTarget("FuzzCIFAR"),
        fuzzTarget("FuzzSVHN"),
        fuzzTarget("FuzzSTL10"),
        fuzzTarget("FuzzPNG"),
        fuzzTarget("FuzzJPEG"),
        fuzzTarget("FuzzSafeTensors"),
        fuzzTarget("FuzzCheckpoint"),
    ],
    swiftLanguageModes: [.v5]
)
