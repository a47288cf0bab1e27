// swift-tools-version: 6.0
// A SwiftNIO server to record with `highwater record` (see run.sh and the README's "A Swift server").
// Its own package: the main package's `make test` and `make run` do not build it.
import PackageDescription

let package = Package(
    name: "SwiftServerExample",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
    ],
    targets: [
        .executableTarget(
            name: "swift-server",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
            ],
            path: "Sources/SwiftServer"
        ),
    ],
    swiftLanguageModes: [.v6]
)
