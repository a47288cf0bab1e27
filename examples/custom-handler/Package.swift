// swift-tools-version: 6.2
// A Swift service's own handlers hosted by Highwater: JSON decoding with Foundation, a cache that never evicts and a
// buffer resize on the executor's blocking pool, swept over pool sizes by custom-handler.yaml.
import PackageDescription

let package = Package(
    name: "custom-handler",
    dependencies: [.package(name: "Highwater", path: "../..")],
    targets: [
        .executableTarget(name: "custom-handler", dependencies: [.product(name: "HighwaterHost", package: "Highwater")]),
    ],
    swiftLanguageModes: [.v6]
)
