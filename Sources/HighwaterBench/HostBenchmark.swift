@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
import HighwaterSystem
import HighwaterHost
import HighwaterWorkloads

/// Throughput of the host on a trivial handler with per-request recording on and off, in
/// alternating rounds of one run, and wrk against the same host for scale.
package enum HostBenchmark {
    package struct Result: Sendable {
        package var recordedRps: [Double]
        package var unrecordedRps: [Double]
        package var wrkRps: Double?
        package var wrkNote: String
        /// Median with recording over median without.
        package var ratio: Double {
            let on = recordedRps.sorted(), off = unrecordedRps.sorted()
            guard !on.isEmpty, !off.isEmpty else { return 0 }
            return on[on.count / 2] / off[off.count / 2]
        }
    }

    package static func run(executable: String, scratch: String, requests: Int = 20_000, concurrency: Int = 16,
                           rounds: Int = 3, wrkSeconds: Int = 5) async throws -> Result {
        let plan = RunPlan(scenario: "bench", config: "trivial", executor: .init(kind: "fixed", size: 2),
                           workload: .init(name: "cpu", options: ["duration": "0ns"]),
                           load: .init(requests: requests, concurrency: concurrency))
        try FileTree.createDirectory(scratch)
        let planPath = scratch + "/plan.json"
        try FileTree.writeAtomically(try RecordCoding.document(plan), to: planPath)
        var result = Result(recordedRps: [], unrecordedRps: [], wrkRps: nil, wrkNote: "")

        for _ in 0..<rounds {
            if Interruption.requested { break }
            result.recordedRps.append(try await round(plan: plan, planPath: planPath, directory: scratch + "/on", executable: executable).requestsPerSecond)
            result.unrecordedRps.append(try await round(plan: plan, planPath: planPath, directory: scratch + "/off", executable: executable,
                                                        extraArguments: ["--no-record"]).requestsPerSecond)
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

    /// One round's figures: completed requests a second, and the host's CPU time (all its threads) a request.
    struct Round {
        var requestsPerSecond: Double
        var cpuNsPerRequest: Double
    }

    /// One round: a fresh host serving `plan` in `directory`, its load driven to the end. The CPU time is the host
    /// process's own clock (clock_getcpuclockid), read around the load alone, so neither start-up nor what other
    /// processes on a shared machine take weighs on it as it does on the throughput.
    static func round(plan: RunPlan, planPath: String, directory: String, executable: String,
                      extraArguments: [String] = []) async throws -> Round {
        try FileTree.createDirectory(directory)
        Syscall.unlinkIfPresent(directory + "/requests.jsonl"); Syscall.unlinkIfPresent(directory + "/samples.jsonl")
        let host = try HostedChild(plan: plan, planPath: planPath, directory: directory, executable: executable, extraArguments: extraArguments)
        guard let port = await host.waitForPort() else {
            throw HarnessError.hostDidNotStart(FileTree.tail(directory + "/host.log", lines: 5) ?? "no output")
        }
        let cpuBefore = processCPUNs(host.process.pid)
        let load = await LoadDriver(port: port, route: "/work", load: plan.load).run()
        let cpuAfter = processCPUNs(host.process.pid)
        _ = await host.stop(port: port)
        guard let cpuBefore, let cpuAfter, cpuAfter >= cpuBefore else {
            throw BenchFailure(message: "the host's CPU clock could not be read around the load (it ended?): \(FileTree.tail(directory + "/host.log", lines: 5) ?? "no output")")
        }
        let done = Double(max(load.latenciesMs.count, 1))
        return Round(requestsPerSecond: Double(load.latenciesMs.count) / (Double(load.wallNs) / 1e9),
                     cpuNsPerRequest: Double(cpuAfter - cpuBefore) / done)
    }

    /// A process's CPU time, every thread's, in nanoseconds; nil when it cannot be read. The scheduler's clock, not
    /// `ProcessCPU` (/proc/PID/stat counts clock ticks: 10 ms, a few percent of a round).
    static func processCPUNs(_ pid: pid_t) -> UInt64? {
        var clock = clockid_t()
        var now = timespec()
        guard clock_getcpuclockid(pid, &clock) == 0, clock_gettime(clock, &now) == 0 else { return nil }
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
