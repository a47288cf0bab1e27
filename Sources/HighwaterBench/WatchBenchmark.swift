import AsyncHTTPClient
@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// What `highwater watch` costs where it runs: the built binary watching `targets` idle python3 processes (4 threads
/// each) by --match at 1 s with --watch-dir /tmp, scraped every second as Prometheus would, one target restarted every
/// `restartEveryS` seconds (series unregistered and registered again). Its CPU time over wall time, and its RSS read
/// every `reportEveryS` seconds: the first minute's beside the last, and the slope between, per hour.
enum WatchBenchmark {
    struct Reading {
        var seconds: Double
        var rss: UInt64
        var cpuShare: Double
        var series: Int
    }

    static func run(highwater: String, targets count: Int, seconds: Double, restartEveryS: Double, reportEveryS: Double,
                    report: (Reading) -> Void) async throws -> [Reading] {
        guard let python = Executable.find("python3") else { throw BenchFailure(message: "python3 is not installed") }
        let dir = try FileTree.makeTemporaryDirectory(in: "/tmp", prefix: "hw-bench-watch-")
        defer { FileTree.removeTree(dir) }
        let token = "hw-bench-watch-\(getpid())"
        func start() throws -> ChildProcess {
            try ExternalSamplerBenchmark.startTarget(python: python, threads: 4, bytes: 8 << 20, arguments: [token])
        }
        var targets = try (0..<count).map { _ in try start() }
        defer { for t in targets { _ = t.terminate(grace: 1_000_000_000) } }
        let watch = try ChildProcess([highwater, "watch", "--match", token, "--interval", "1s", "--listen", "127.0.0.1:0", "--watch-dir", "/tmp"],
                                     stdout: .file(dir + "/watch.out"), stderr: .file(dir + "/watch.err"))
        defer { _ = watch.terminate(grace: 2_000_000_000) }
        var port: Int?
        for _ in 0..<600 where port == nil {
            let text = (try? FileTree.readText(dir + "/watch.out")) ?? ""
            if let range = text.firstRange(of: "127.0.0.1:") { port = Int(text[range.upperBound...].prefix { $0.isNumber }) }
            if port == nil { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        guard let port else { throw BenchFailure(message: "watch did not serve: \((try? FileTree.readText(dir + "/watch.err")) ?? "")") }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let readings = try await measure(watch: watch, port: port, client: client, seconds: seconds, restartEveryS: restartEveryS,
                                             reportEveryS: reportEveryS, targets: &targets, start: start, report: report)
            try? await client.shutdown()
            return readings
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Scrapes every second, restarts a target every `restartEveryS`, and reads watch every `reportEveryS`.
    private static func measure(watch: ChildProcess, port: Int, client: HTTPClient, seconds: Double, restartEveryS: Double,
                                reportEveryS: Double, targets: inout [ChildProcess], start: () throws -> ChildProcess,
                                report: (Reading) -> Void) async throws -> [Reading] {
        let probe = try ProcessProbe(pid: watch.pid)
        let start0 = MonotonicClock.nanoseconds()
        let stat0 = try probe.stat()
        var readings: [Reading] = []
        var lastRestart = 0.0, lastReport = 0.0
        var series = 0
        while true {
            let elapsed = Double(MonotonicClock.nanoseconds() - start0) / 1e9
            if elapsed >= seconds { break }
            let request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics")
            if let response = try? await client.execute(request, timeout: .seconds(10)),
               let body = try? await response.body.collect(upTo: 16 << 20) {
                series = String(buffer: body).split(separator: "\n").filter { !$0.hasPrefix("#") }.count
            }
            if elapsed - lastRestart >= restartEveryS {
                lastRestart = elapsed
                _ = await targets.removeFirst().terminate(grace: 1_000_000_000)
                targets.append(try start())
            }
            if elapsed - lastReport >= reportEveryS {
                lastReport = elapsed
                let stat = try probe.stat()
                let cpuNs = Double((stat.utimeNs + stat.stimeNs) - (stat0.utimeNs + stat0.stimeNs))
                let reading = Reading(seconds: elapsed, rss: try probe.status().vmRSS, cpuShare: elapsed > 0 ? cpuNs / (elapsed * 1e9) : 0,
                                      series: series)
                readings.append(reading)
                report(reading)
            }
            try await Task.sleep(nanoseconds: 1_000_000_000)
        }
        return readings
    }
}
