import HighwaterRecords
@testable import HighwaterScenarios
import Testing

/// `host:` in a scenario file: a host of the user's own, its routes as the workloads.
@Suite("Scenarios naming a host of their own")
struct HostScenarioTests {
    @Test("a package or a command, relative to the scenario file; the workload is the route, swept as any setting")
    func hostResolved() throws {
        let text = """
            name: own
            host: {package: ., product: my-host}
            executor: {kind: fixed}
            load: {requests: 100}
            sweep: {executor.size: [1, 4]}
            variants:
              - {workload.name: /json, load.payload: 64 KiB}
              - {workload.name: resize}
            """
        let scenario = try ScenarioLoader(cores: 2).load(text: text, file: "/srv/app/own.yaml")
        let first = try #require(scenario.plans.first)
        #expect(first.host == HostProgram(package: "/srv/app/.", product: "my-host"))
        #expect(first.route == "/json" && !first.isUpload && first.load.payloadBytes == [65536])
        #expect(Set(scenario.plans.map(\.config)) == ["fixed-1-json-64KiB", "fixed-4-json-64KiB", "fixed-1-resize", "fixed-4-resize"])
        #expect(scenario.plans.first { $0.workload.name == "resize" }?.route == "/resize")

        let command = try ScenarioLoader(cores: 2).load(text: "host: {command: bin/my-host}\nexecutor: {kind: fixed}\nworkload: {name: /work}\nload: {requests: 10}\n", file: "/srv/app/c.yaml")
        #expect(command.plans.first?.host == HostProgram(command: "/srv/app/bin/my-host"))
    }

    @Test("a host named by halves, twice, or with workload options, and a workload no host serves, each a clear error",
          arguments: [
              ("host: {product: my-host}", "`host.product` needs `host.package`"),
              ("host: {package: ., command: ./x}", "`host.command` and `host.package` both set"),
              ("host: {command: ./x}\nvariants: [{workload.options.pin: true}]", "a host of your own takes no workload options"),
              ("", "unknown name `/json`"),
          ])
    func badHost(_ extra: String, _ message: String) throws {
        let text = "name: bad\nexecutor: {kind: fixed, size: 1}\nworkload: {name: /json}\nload: {requests: 10}\n" + extra
        let error = #expect(throws: ScenarioLoadError.self) { try ScenarioLoader(cores: 2).load(text: text, file: "bad.yaml") }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
    }
}
