// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Highwater",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "highwater", targets: ["highwater"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.0"),
    ],
    targets: [
        // libunwind from Debian's libunwind-dev.
        .systemLibrary(
            name: "CLibunwind",
            pkgConfig: "libunwind",
            providers: [.apt(["libunwind-dev"])]
        ),
        // glibc allocator introspection, gettid and stack capture: what Swift cannot call.
        .target(
            name: "CHighwater",
            dependencies: ["CLibunwind"],
            cSettings: [.define("UNW_LOCAL_ONLY"), .define("_GNU_SOURCE")]
        ),
        // Readings of a process: /proc, cgroup, filesystems, the allocator, stacks; the sampler.
        .target(
            name: "HighwaterProbes",
            dependencies: ["CHighwater", "HighwaterAnalysis"]
        ),
        // Records and the arithmetic over them: growth verdicts, percentiles.
        .target(name: "HighwaterAnalysis"),
        // Uploads: spooled file, streaming multipart receiver, confined names, private tmpfs.
        .target(name: "HighwaterUploads", dependencies: ["HighwaterProbes", "HighwaterAnalysis", .product(name: "MultipartKit", package: "multipart-kit"), .product(name: "NIOCore", package: "swift-nio")]),
        // Executors, the HTTP host, workloads, the load driver, child runs.
        .target(
            name: "HighwaterHarness",
            dependencies: [
                "HighwaterProbes", "HighwaterAnalysis", "HighwaterUploads",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ]
        ),
        // Scenario files: parsing, validation, sweeps, expectations, limits.
        .target(
            name: "HighwaterScenarios",
            dependencies: ["HighwaterAnalysis", .product(name: "Yams", package: "Yams")]
        ),
        // HTML, Markdown, CSV and JUnit renderings of results.
        .target(name: "HighwaterReports", dependencies: ["HighwaterAnalysis"]),
        .executableTarget(
            name: "highwater",
            dependencies: [
                "HighwaterProbes", "HighwaterAnalysis", "HighwaterHarness",
                "HighwaterScenarios", "HighwaterReports", "HighwaterUploads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "HighwaterTests",
            dependencies: [
                "HighwaterProbes", "HighwaterAnalysis", "HighwaterHarness",
                "HighwaterScenarios", "HighwaterReports", "HighwaterUploads", "highwater",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
