/// A host of the user's own that a scenario names (`host: {command: PATH}` or `host: {package: DIR, product: NAME}`):
/// a program built on HighwaterHost's `Host.main`, started instead of `highwater host` for each configuration.
/// Its routes are the scenario's workloads.
package struct HostProgram: Codable, Equatable, Sendable {
    /// The executable to start, absolute; nil when it comes from `package`.
    package var command: String?
    /// A Swift package's directory, absolute: Highwater builds `product` in it (`swift build -c release`) once per run.
    package var package: String?
    /// The executable product of `package`.
    package var product: String?

    /// A host already built: the executable at `command`.
    package init(command: String) { self.command = command }

    /// A host to build: the executable product `product` of the Swift package in `package`.
    package init(package: String, product: String) { self.package = package; self.product = product }

    /// How the scenario named it, for messages: the command, or `package DIR, product NAME`.
    package var described: String {
        if let command { return command }
        return "package \(package ?? "?"), product \(product ?? "?")"
    }

    /// The path the route of a workload name takes: `json` and `/json` are both `/json`.
    package static func route(ofWorkload name: String) -> String { name.hasPrefix("/") ? name : "/" + name }
}
