// swift-tools-version:6.2
import PackageDescription

// Kernel modules read no untrusted input, so they may drop overflow checks (-Ounchecked): the
// packing loops then vectorise (measured +10-20 % GEMM throughput). Debug builds still optimise
// them, or `swift test` would run SIMD code ~500x slower.
// -fno-math-errno: see the Backprop target.
let kernelOptimisation: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-fno-math-errno"]),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

// Each instantiation module compiles the shared @inlinable GEMM templates for one instruction set.
// Swift inlines stdlib SIMD operators into the calling module, so the flag must sit on the module
// that instantiates the kernel. Only x86-64 hosts know these -march values.
func targetFlags(_ march: String) -> [SwiftSetting] {
    #if arch(x86_64)
    return [.unsafeFlags(["-Xcc", "-march=\(march)"])]
    #else
    return []
    #endif
}

let package = Package(
    name: "Backprop",
    platforms: [.macOS(.v15)],
    products: [
        // Libraries for programs that embed the engine. Every type in their public signatures
        // comes from one of these products.
        .library(name: "Backprop", targets: ["Backprop"]),
        .library(name: "MatrixKernels", targets: ["MatrixKernels"]),
        .library(name: "ModelFile", targets: ["ModelFile"]),
        .library(name: "PNGCodec", targets: ["PNGCodec"]),
        .library(name: "StrictCSV", targets: ["StrictCSV"]),
        .library(name: "DigitsKit", targets: ["DigitsKit"]),
        .library(name: "HousePriceKit", targets: ["HousePriceKit"]),
        .executable(name: "digits", targets: ["digits"]),
        .executable(name: "house-price", targets: ["house-price"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation`: the DocC catalogs of Backprop and ModelFile.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // `digits serve` and `house-price serve`: HTTP server, its lifecycle, logs, metrics, and
        // multipart uploads (README.md, "Dependencies").
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
    ],
    targets: [
        .target(name: "CSystemSupport"),
        // Data-parallel training over MPI: Open MPI loaded at run time (dlopen) when mpirun
        // started the tool, so that neither the build nor a normal run needs it.
        .target(name: "CMPIShim"),
        .target(name: "MPIRuntime", dependencies: ["CMPIShim", "Backprop"]),
        .target(name: "MatrixKernels", dependencies: ["CSystemSupport"], swiftSettings: kernelOptimisation),
        .target(name: "MatrixKernelsAVX512", dependencies: ["MatrixKernels"],
                swiftSettings: kernelOptimisation + targetFlags("x86-64-v4")),
        .target(name: "MatrixKernelsAVX2", dependencies: ["MatrixKernels"],
                swiftSettings: kernelOptimisation + targetFlags("x86-64-v3")),
        .target(name: "MatrixKernelsPortable", dependencies: ["MatrixKernels"],
                swiftSettings: kernelOptimisation),
        // -fno-math-errno: on Linux, Swift's `squareRoot()` goes through C's sqrtf, which must set
        // errno for negative inputs, so every SIMD lane became a branch and a scalar sqrt (Adam's
        // update took 18 % of a house-price training step); without errno it is one sqrtps.
        .target(name: "Backprop",
                dependencies: ["CSystemSupport", "MatrixKernels", "MatrixKernelsAVX512",
                               "MatrixKernelsAVX2", "MatrixKernelsPortable"],
                swiftSettings: [.unsafeFlags(["-Xcc", "-fno-math-errno"]),
                                .unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "ModelFile", dependencies: ["Backprop"]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .target(name: "PNGCodec", dependencies: ["CPNG", "CZlib", "CDeflate"]),
        .target(name: "CommandLineSupport",
                dependencies: ["Backprop", "ModelFile", "ModelServer", "MPIRuntime",
                               .product(name: "ArgumentParser", package: "swift-argument-parser"),
                               .product(name: "Logging", package: "swift-log")]),
        .target(name: "StrictCSV"),
        .target(name: "Reports"),
        .target(name: "ModelServer",
                dependencies: [.product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "MultipartKit", package: "multipart-kit")]),

        // The house-price regressor: library (tested) and command-line front end.
        .target(name: "HousePriceKit", dependencies: ["Backprop", "ModelFile", "StrictCSV", "MatrixKernels", "Reports"],
                path: "apps/HousePrice/HousePriceKit"),
        .target(name: "HousePriceService",
                dependencies: ["HousePriceKit", "ModelFile", "ModelServer", "StrictCSV", .product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "Logging", package: "swift-log")],
                path: "apps/HousePrice/HousePriceService"),
        .executableTarget(name: "house-price",
                          dependencies: ["HousePriceKit", "HousePriceService", "ModelServer", "ModelFile", "Backprop", "StrictCSV", "CommandLineSupport",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "apps/HousePrice/house-price"),

        // The digit recogniser: library (tested) and command-line front end.
        .target(name: "DigitsKit", dependencies: ["Backprop", "ModelFile", "PNGCodec", "CZlib", "MatrixKernels", "Reports"],
                path: "apps/Digits/DigitsKit"),
        .target(name: "DigitsService",
                dependencies: ["DigitsKit", "ModelFile", "ModelServer", "PNGCodec", .product(name: "Hummingbird", package: "hummingbird")],
                path: "apps/Digits/DigitsService"),
        .executableTarget(name: "digits",
                          dependencies: ["DigitsKit", "DigitsService", "ModelServer", "ModelFile", "Backprop", "PNGCodec", "CommandLineSupport",
                                         .product(name: "Logging", package: "swift-log"),
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "apps/Digits/digits"),
        .executableTarget(name: "bench",
                          dependencies: ["Backprop", "MatrixKernels", "DigitsKit", "PNGCodec", "CZlib", "CDeflate",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Benchmarks/bench"),
        .executableTarget(name: "mpi-bench",
                          dependencies: ["Backprop", "DigitsKit", "HousePriceKit", "MPIRuntime"],
                          path: "Benchmarks/mpi-bench"),
        .testTarget(name: "BackpropTests", dependencies: ["Backprop", "TestSupport"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ModelFileTests", dependencies: ["ModelFile", "Backprop", "TestSupport", "save-loop"]),
        .executableTarget(name: "make-digit-images",
                          dependencies: ["DigitsKit", "Backprop", "PNGCodec",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Tools/make-digit-images"),
        .testTarget(name: "DigitsKitTests",
                    dependencies: ["DigitsKit", "ModelFile", "Backprop", "PNGCodec", "TestSupport", "digits"]),
        .testTarget(name: "HousePriceKitTests",
                    dependencies: ["HousePriceKit", "StrictCSV", "ModelFile", "Backprop", "TestSupport", "house-price"]),
        .testTarget(name: "CommandLineSupportTests", dependencies: ["CommandLineSupport", "Backprop"]),

        // Fuzz harnesses (Tools/fuzz/README.md): replayers in a normal build, libFuzzer targets
        // when Tools/fuzz.sh builds them with -sanitize=fuzzer and -D FUZZING.
        .target(name: "FuzzSupport", path: "Tools/fuzz/FuzzSupport"),
        .target(name: "CFuzzer", path: "Tools/fuzz/CFuzzer"),
        .executableTarget(name: "fuzz-csv", dependencies: ["FuzzSupport", "CFuzzer", "HousePriceKit", "StrictCSV"],
                          path: "Tools/fuzz/fuzz-csv"),
        .executableTarget(name: "fuzz-png", dependencies: ["FuzzSupport", "CFuzzer", "DigitsKit", "PNGCodec"], path: "Tools/fuzz/fuzz-png"),
        .executableTarget(name: "fuzz-safetensors", dependencies: ["FuzzSupport", "CFuzzer", "ModelFile"], path: "Tools/fuzz/fuzz-safetensors"),
        .executableTarget(name: "fuzz-digits-model", dependencies: ["FuzzSupport", "CFuzzer", "DigitsKit", "PNGCodec"],
                          path: "Tools/fuzz/fuzz-digits-model"),
        .executableTarget(name: "fuzz-house-price-model", dependencies: ["FuzzSupport", "CFuzzer", "HousePriceKit"],
                          path: "Tools/fuzz/fuzz-house-price-model"),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"]),
        .testTarget(name: "ServingTests", dependencies: ["TestSupport", "digits", "house-price"]),
        .testTarget(name: "FuzzReplayTests",
                    dependencies: ["TestSupport", "fuzz-csv", "fuzz-png", "fuzz-safetensors", "fuzz-digits-model", "fuzz-house-price-model"]),
        .executableTarget(name: "save-loop", dependencies: ["ModelFile", "Backprop"], path: "Tools/save-loop"),
    ],
    swiftLanguageModes: [.v6]
)
