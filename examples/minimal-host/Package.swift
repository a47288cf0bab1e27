// swift-tools-version: 6.2
// The smallest Highwater host: one handler written against HighwaterHost's public API alone, served under the
// executor, load and probes a scenario chooses. Highwater's tests build it to hold that API to what it promises.
import PackageDescription

let package = Package(
    name: "minimal-host",
    dependencies: [.package(name: "Highwater", path: "../..")],
    targets: [
        .executableTarget(name: "minimal-host", dependencies: [.product(name: "HighwaterHost", package: "Highwater")]),
    ],
    swiftLanguageModes: [.v6]
)
