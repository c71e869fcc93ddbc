// swift-tools-version:6.0
// invprop: Invariance Propagation (NeurIPS 2020) on a CPU, in Swift, on oneDNN.
// Layering (each target depends only on those below it), see docs/architecture.md:
//   invprop (CLI) -> InvpropCLI -> Training / Evaluation -> Methods -> Models, Data -> NN
//   -> Tensors -> Kernels (oneDNN, CKernels), Codecs (libpng, libjpeg-turbo, zlib); Training -> Collectives (MPI,
//   opened at run time); SafeTensors, Randomness and
//   RunFormat (run-directory file names, checkpoint and metrics keys) are leaves. InvpropCLI -> ONNXExport -> Models
//   (plus the swift-protobuf runtime) writes ONNX files.
import PackageDescription

let optimized: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]

let package = Package(
    name: "invprop",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "invprop", targets: ["invprop"]),
        .library(name: "InvpropKit", targets: ["Training", "Evaluation", "Methods", "Models", "Data", "NN", "Tensors"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // Runtime of the generated ONNX message types (ONNXExport only; the code is generated once
        // and committed, see Sources/ONNXExport/Generated/README.md).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // Kernels layer: the only code that talks to C libraries.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CImageLibs", path: "Sources/CImageLibs"),
        // Hand-written C vector kernels (AVX-512 compress), chosen at run time; only Kernels uses them.
        .target(name: "CKernels"),
        .target(name: "Kernels", dependencies: ["CDNNL", "CKernels"], swiftSettings: optimized),
        .target(name: "Codecs", dependencies: ["CImageLibs"], swiftSettings: optimized),
        // Collectives: allreduce, all-gather, broadcast over MPI (OpenMPI's libmpi opened at run
        // time under mpirun, never linked), or the identity for one process.
        .target(name: "Collectives", swiftSettings: optimized),
        // Leaves: the checkpoint file format and the seedable random generator; pure Swift.
        .target(name: "SafeTensors", swiftSettings: optimized),
        // The run-file format (file names, checkpoint keys, metrics keys) that Training writes and
        // Evaluation, Report and the CLI read.
        .target(name: "RunFormat", swiftSettings: optimized),
        .target(name: "Randomness", swiftSettings: optimized),
        // Tensors + autodiff, then layers/optimizers, then models.
        .target(name: "Tensors", dependencies: ["Kernels"], swiftSettings: optimized),
        .target(name: "NN", dependencies: ["Tensors", "SafeTensors", "Randomness"], swiftSettings: optimized),
        .target(name: "Models", dependencies: ["NN"], swiftSettings: optimized),
        // Data: readers, augmentations, loader.
        .target(name: "Data", dependencies: ["Codecs", "Randomness"], swiftSettings: optimized),
        // Methods: InvP, NPID (loss + memory bank + schedule).
        .target(name: "Methods", dependencies: ["NN", "Data", "Kernels", "Randomness"], swiftSettings: optimized),
        .target(name: "Evaluation", dependencies: ["Models", "Data", "Methods", "Kernels", "Randomness", "SafeTensors", "RunFormat"], swiftSettings: optimized),
        .target(name: "Training", dependencies: ["Models", "Data", "Methods", "Evaluation", "SafeTensors", "RunFormat", "Collectives"], swiftSettings: optimized),
        // ONNXExport: a ResNet as an ONNX model; the only target that knows ONNX.
        .target(name: "ONNXExport", dependencies: [
            "Models", "NN", "Tensors", "Randomness",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["Generated/README.md"], swiftSettings: optimized),
        .target(name: "InvpropCLI", dependencies: [
            "Training", "Evaluation", "Report", "RunFormat", "ONNXExport", "Collectives",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Yams", package: "Yams"),
        ], resources: [.copy("Recipes")], swiftSettings: optimized),
        .executableTarget(name: "invprop", dependencies: ["InvpropCLI"], swiftSettings: optimized),
        // Report: the self-contained HTML page of a run directory, and montage composition.
        .target(name: "Report", dependencies: ["Codecs", "RunFormat"], swiftSettings: optimized),

        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Models", "SafeTensors", "Randomness", "Training", "Kernels", "Collectives"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "Codecs", "Randomness"], exclude: ["Fixtures"]),
        .testTarget(name: "MethodsTests", dependencies: ["Methods", "SafeTensors", "Randomness"], exclude: ["Fixtures"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Methods", "Kernels", "SafeTensors"]),
        .testTarget(name: "TrainingTests", dependencies: [
            "Training", "Evaluation", "InvpropCLI", "Report", "ONNXExport", "Collectives",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Codecs", "RunFormat"]),
        .testTarget(name: "ONNXExportTests", dependencies: [
            "ONNXExport", "Models", "NN", "Tensors", "Randomness", "InvpropCLI", "Training", "Evaluation",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
