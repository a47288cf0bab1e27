@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
import HighwaterSystem

/// Throughput of the host on a trivial handler with per-request recording on and off, in
/// alternating rounds of one run, and wrk against the same host for scale.
public enum HostBenchmark {
    public struct Result: Sendable {
        public var recordedRps: [Double]
        public var unrecordedRps: [Double]
        public var wrkRps: Double?
        public var wrkNote: String
        /// Median with recording over median without.
        public var ratio: Double {
            let on = recordedRps.sorted(), off = unrecordedRps.sorted()
            guard !on.isEmpty, !off.isEmpty else { return 0 }
            return on[on.count / 2] / off[off.count / 2]
        }
    }

    public static func run(executable: String, scratch: String, requests: Int = 20_000, concurrency: Int = 16,
                           rounds: Int = 3, wrkSeconds: Int = 5) async throws -> Result {
        let plan = RunPlan(scenario: "bench", config: "trivial", executor: .init(kind: "fixed", size: 2),
                           workload: .init(name: "cpu", options: ["duration": "0ns"]),
                           load: .init(requests: requests, concurrency: concurrency))
        try FileTree.createDirectory(scratch)
        let planPath = scratch + "/plan.json"
        try FileTree.writeAtomically(try RecordCoding.document(plan), to: planPath)
        var result = Result(recordedRps: [], unrecordedRps: [], wrkRps: nil, wrkNote: "")

        func round(record: Bool) async throws -> Double {
            let dir = scratch + (record ? "/on" : "/off")
            try FileTree.createDirectory(dir)
            Syscall.unlinkIfPresent(dir + "/requests.jsonl"); Syscall.unlinkIfPresent(dir + "/samples.jsonl")
            let host = try HostedChild(plan: plan, planPath: planPath, directory: dir, executable: executable,
                                       extraArguments: record ? [] : ["--no-record"])
            guard let port = await host.waitForPort() else { throw HarnessError.hostDidNotStart(FileTree.tail(dir + "/host.log", lines: 5) ?? "no output") }
            let load = await LoadDriver(port: port, route: "/work", load: plan.load).run()
            _ = await host.stop(port: port)
            return Double(load.latenciesMs.count) / (Double(load.wallNs) / 1e9)
        }
        for _ in 0..<rounds {
            if Interruption.requested { break }
            result.recordedRps.append(try await round(record: true))
            result.unrecordedRps.append(try await round(record: false))
        }

        if let wrk = Executable.find("wrk") {
            let dir = scratch + "/wrk"
            try FileTree.createDirectory(dir)
            let host = try HostedChild(plan: plan, planPath: planPath, directory: dir, executable: executable)
            if let port = await host.waitForPort() {
                let child = try ChildProcess([wrk, "-t2", "-c\(concurrency)", "-d\(wrkSeconds)s", "http://127.0.0.1:\(port)/work"],
                                             stdout: .file(dir + "/wrk.txt"), stderr: .null)
                _ = await child.exit()
                let text = (try? FileTree.readText(dir + "/wrk.txt")) ?? ""
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }) {
                    result.wrkRps = Double(line.split(separator: " ").last ?? "")
                }
                result.wrkNote = "wrk -t2 -c\(concurrency) -d\(wrkSeconds)s, recording on"
                _ = await host.stop(port: port)
            }
        } else {
            result.wrkNote = "wrk is not installed (apt-get install wrk)"
        }
        return result
    }
}
