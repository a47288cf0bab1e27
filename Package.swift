// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "Highwater",
    products: [
        .executable(name: "highwater", targets: ["highwater"]),
        // Highwater's own costs, apart from the product: `highwater bench` runs it when it is built beside.
        .executable(name: "highwater-bench", targets: ["HighwaterBench"]),
        // The allocation agent, preloaded into hosted children (and any dynamically linked program):
        // libHighwaterAgent.so beside the `highwater` executable. Nothing links it; it is only preloaded.
        .library(name: "HighwaterAgent", type: .dynamic, targets: ["CHighwaterAgent"]),
        // The host as a library: a Swift service's own handlers served under Highwater's executors, load and probes
        // (`Host.main`). Its public API is small and documented; everything else in the package is `package`.
        .library(name: "HighwaterHost", targets: ["HighwaterHost"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The Prometheus exposition format for `watch`, written by the library rather than by hand.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // libunwind from Debian's libunwind-dev.
        .systemLibrary(
            name: "CLibunwind",
            pkgConfig: "libunwind",
            providers: [.apt(["libunwind-dev"])]
        ),
        // zlib from Debian's zlib1g-dev: gzip for the pprof profiles, rather than a compressor of our own.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // libyaml's event parser from Debian's libyaml-dev, declared here: Yams keeps its own copy (CYaml) as a
        // target that is not a product, so importing it would be an undeclared dependency.
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // glibc allocator introspection, gettid and stack capture: what Swift cannot call.
        .target(
            name: "CHighwater",
            dependencies: ["CLibunwind"],
            cSettings: [.define("UNW_LOCAL_ONLY"), .define("_GNU_SOURCE")]
        ),
        // The interposer of malloc and its family with per-thread counters, as a preloadable library.
        // No target depends on it: linked into a binary, it would replace that binary's malloc.
        // SwiftPM links a library product with swiftc, which adds the Swift runtime's start-up object and
        // libswiftCore: preloaded, that put 3.1 MiB of resident runtime into every target (a python3 at start:
        // 13.6 -> 16.7 MiB) for code the agent never calls. Without the start-up object nothing refers to the
        // runtime, and linked statically none of it is pulled in. swiftc also names libstdc++, which the agent never
        // calls (+1.0 MiB resident in a python3): link/libstdc++.so, a linker script found first, names it only as
        // needed, so it is not named at all (+80 KiB with the agent, in all).
        .target(
            name: "CHighwaterAgent",
            dependencies: ["CLibunwind"],
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("m"), .unsafeFlags(["-nostartfiles", "-static-stdlib", "-L" + Context.packageDirectory + "/Sources/CHighwaterAgent/link"])]
        ),
        // The system layer: one EINTR-retrying wrapper per syscall and one typed SystemError; files,
        // child processes and their lifeline, signals, clocks and locks, each written once.
        .target(name: "HighwaterSystem", dependencies: ["CHighwater"]),
        // The bottom of the graph: records as they are written and read (samples, requests, plans,
        // summaries) and the units they are measured in. Every other module speaks in these.
        .target(name: "HighwaterRecords"),
        // Readings of a process: /proc, cgroup, filesystems, the allocator, stacks; the sampler.
        .target(
            name: "HighwaterProbes",
            dependencies: ["CHighwater", "CZlib", "HighwaterSystem", "HighwaterRecords"]
        ),
        // The arithmetic over records: growth verdicts, percentiles, run summaries.
        .target(name: "HighwaterAnalysis", dependencies: ["HighwaterRecords"]),
        // Uploads: spooled file, streaming multipart receiver, confined names, private tmpfs.
        .target(
            name: "HighwaterUploads",
            dependencies: [
                "HighwaterSystem", "HighwaterProbes", "HighwaterRecords",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The host: executors, the HTTP server on loopback, the request recorder, routes and handlers, the child's
        // entry point. NIO stays inside it.
        .target(
            name: "HighwaterHost",
            dependencies: [
                "CHighwater", "HighwaterSystem", "HighwaterRecords", "HighwaterProbes", "HighwaterUploads",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The built-in workloads, registered with the host by name: compute (alloc-churn, leak, sleep, cpu),
        // uploads, downloads, downstream calls.
        .target(
            name: "HighwaterWorkloads",
            dependencies: [
                "CHighwater", "HighwaterSystem", "HighwaterRecords", "HighwaterProbes", "HighwaterUploads", "HighwaterHost",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The driver: the load, child runs, external targets and their readiness, companions, settling.
        .target(
            name: "HighwaterHarness",
            dependencies: [
                "CHighwater", "HighwaterSystem", "HighwaterRecords", "HighwaterProbes", "HighwaterAnalysis",
                "HighwaterUploads", "HighwaterHost", "HighwaterWorkloads",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Scenario files: parsing, validation, sweeps, expectations, limits.
        .target(
            name: "HighwaterScenarios",
            dependencies: ["CLibYAML", "HighwaterSystem", "HighwaterRecords", .product(name: "Yams", package: "Yams")]
        ),
        // HTML, Markdown, CSV and JUnit renderings of results.
        .target(name: "HighwaterReports", dependencies: ["HighwaterSystem", "HighwaterRecords"]),
        // The parsers of untrusted input as fuzz targets, shared by the fuzzer and the tests that replay its corpus.
        .target(
            name: "HighwaterFuzzTargets",
            dependencies: [
                "HighwaterSystem", "HighwaterProbes", "HighwaterReports", "HighwaterScenarios", "HighwaterUploads",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The application layer between the commands and the parts: a session per command (run, check, record, sample
        // and watch from a typed spec that says what is wrong with itself; diff, report, env), with the failures that
        // map to exit codes. Commands parse arguments and hand over; tests drive sessions in process.
        .target(
            name: "HighwaterSessions",
            dependencies: [
                "HighwaterSystem", "HighwaterRecords", "HighwaterProbes", "HighwaterAnalysis", "HighwaterHarness",
                "HighwaterScenarios", "HighwaterReports", "HighwaterWatch",
            ]
        ),
        // `highwater watch`: targets sampled for as long as it runs, their figures on /metrics (Prometheus) and their
        // heap profiles on /debug/pprof/heap (pprof), served on loopback with NIO.
        .target(
            name: "HighwaterWatch",
            dependencies: [
                "HighwaterSystem", "HighwaterRecords", "HighwaterProbes", "HighwaterScenarios", "HighwaterHarness",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // libFuzzer's entry points under `-D FUZZING -sanitize=fuzzer` (scripts/fuzz), a corpus replayer otherwise.
        .executableTarget(name: "highwater-fuzz", dependencies: ["HighwaterFuzzTargets"]),
        .executableTarget(
            name: "highwater",
            dependencies: [
                "CHighwater", "HighwaterSystem", "HighwaterRecords", "HighwaterProbes", "HighwaterAnalysis", "HighwaterHarness",
                "HighwaterHost", "HighwaterWorkloads", "HighwaterScenarios", "HighwaterReports", "HighwaterUploads",
                "HighwaterSessions", "HighwaterWatch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Seeded synthetic results directories (runs and uploads), for the benchmarks and the tests.
        .target(name: "HighwaterSynthetic", dependencies: ["HighwaterSystem", "HighwaterRecords", "HighwaterAnalysis"]),
        // The benchmarks of the sampler, the host and the report, as their own executable.
        .executableTarget(
            name: "HighwaterBench",
            dependencies: [
                "HighwaterSystem", "HighwaterRecords", "HighwaterAnalysis", "HighwaterProbes", "HighwaterHarness",
                "HighwaterHost", "HighwaterWorkloads", "HighwaterReports", "HighwaterSynthetic",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "HighwaterTests",
            dependencies: [
                "HighwaterSystem", "HighwaterRecords", "HighwaterProbes", "HighwaterAnalysis", "HighwaterHarness",
                "HighwaterHost", "HighwaterWorkloads", "HighwaterScenarios", "HighwaterReports", "HighwaterUploads", "HighwaterSynthetic", "HighwaterFuzzTargets",
                "HighwaterSessions", "HighwaterWatch", "highwater",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // Recorded series of real runs, read from the source tree by the growth corpus test.
            exclude: ["Analysis/Corpus"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// A warning is an error in Highwater's own Swift targets (dependencies keep their own settings).
for target in package.targets where target.type != .system && !target.name.hasPrefix("C") {
    target.swiftSettings = (target.swiftSettings ?? []) + [.treatAllWarnings(as: .error)]
}
