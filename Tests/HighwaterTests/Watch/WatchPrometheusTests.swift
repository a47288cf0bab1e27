import Foundation
@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem
import Testing

/// `highwater watch` scraped by Debian's real Prometheus on loopback: the series Prometheus stored match the watched
/// process's own /proc figures, and a target that ends goes stale rather than to zero.
@Suite("watch scraped by Prometheus",
       .enabled(if: TestSupport.which("prometheus") != nil, "prometheus is not installed (scripts/install-deps prometheus)"),
       .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"),
       .enabled(if: TestSupport.isRoot, "mounting the watched tmpfs needs root"))
struct WatchPrometheusTests {
    /// A real Prometheus server: its own config and storage in `dir`, its port read from its log.
    struct Server {
        let child: ChildProcess
        let port: Int

        static func start(scraping target: Int, dir: String) async -> Server? {
            let config = """
                global:
                  scrape_interval: 1s
                scrape_configs:
                  - job_name: highwater
                    static_configs:
                      - targets: ["127.0.0.1:\(target)"]
                """
            guard (try? FileTree.writeAtomically(Array(config.utf8), to: dir + "/prometheus.yml")) != nil,
                  let child = try? ChildProcess([TestSupport.which("prometheus")!, "--config.file=\(dir)/prometheus.yml",
                                                 "--storage.tsdb.path=\(dir)/data", "--web.listen-address=127.0.0.1:0"],
                                                stdout: .null, stderr: .file(dir + "/prometheus.log")) else { return nil }
            let port = await TestSupport.poll(seconds: 60, every: 50, stopIf: { child.poll() != nil }) { () -> Int? in
                let log = (try? FileTree.readText(dir + "/prometheus.log")) ?? ""
                guard let line = log.split(separator: "\n").first(where: { $0.contains("msg=\"Listening on\"") }),
                      let range = line.range(of: "address=127.0.0.1:") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }
            guard let port else { TestSupport.end(child); return nil }
            return Server(child: child, port: port)
        }

        /// An instant query's samples: each series' labels and value.
        func query(_ promql: String) -> [(labels: [String: String], value: Double)]? {
            guard let answer = HTTPGet.bytes(port: port, path: "/api/v1/query?query=" + HTTPGet.encode(promql)), answer.status == 200,
                  let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
                  let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else { return nil }
            return result.compactMap { series in
                guard let labels = series["metric"] as? [String: String], let pair = series["value"] as? [Any],
                      pair.count == 2, let text = pair[1] as? String, let value = Double(text) else { return nil }
                return (labels, value)
            }
        }

        func value(_ promql: String) -> Double? { query(promql)?.first?.value }
    }

    /// /proc/PID/status's field (kB figures in bytes).
    static func status(_ pid: Int32, _ field: String) -> UInt64? {
        guard let text = try? FileTree.readText("/proc/\(pid)/status"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return nil }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count >= 2, let n = UInt64(words[1]) else { return nil }
        return words.count > 2 && words[2] == "kB" ? n * 1024 : n
    }

    @Test("two scrapes of watch give the process's RSS, threads, arenas and temp-dir figures as /proc has them; an ended target goes stale")
    func prometheusStoresWhatProcSays() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-watch-prom")
        defer { TestSupport.removeTree(dir) }
        let spool = dir + "/spool"
        try Syscall.mkdir(spool)
        try Syscall.mountTmpfs(at: spool, options: "size=64m")
        defer { try? Syscall.unmountDetached(spool) }
        // Threads that each malloc get arenas of their own up to glibc's cap (8 per core): fewer than that here.
        let threads = min(4, 8 * SystemFacts.onlineCPUs - 1)
        let target = try await ArenaCensusTests.child(threads: threads, dir: dir, then: """
            held = bytearray(32 << 20)
            upload = open('\(spool)/upload', 'wb')
            upload.write(b'x' * (3 << 20)); upload.flush()
            os.unlink('\(spool)/upload')
            """)
        defer { TestSupport.end(target) }
        let pid = target.pid

        let watch = try #require(await RunningWatch.start(["--pid", String(pid), "--interval", "250ms", "--watch-dir", spool], dir: dir))
        defer { watch.child.signal(SIGINT); _ = watch.child.wait(timeoutNs: 10_000_000_000); TestSupport.end(watch.child) }
        let server = try #require(await Server.start(scraping: watch.port, dir: dir))
        defer { TestSupport.end(server.child) }

        let scrapes = await TestSupport.poll(seconds: 60, every: 250) { () -> Double? in
            server.value("count_over_time(process_resident_memory_bytes{pid=\"\(pid)\"}[5m])").flatMap { $0 >= 2 ? $0 : nil }
        }
        #expect(scrapes != nil, "Prometheus never scraped watch twice; its log: \((try? FileTree.readText(dir + "/prometheus.log")) ?? "")")

        // The child is still between its steps: its figures hold, so one sample's worth of difference is all there may be.
        let rss = try #require(server.value("process_resident_memory_bytes{pid=\"\(pid)\"}"))
        let procRSS = try #require(Self.status(pid, "VmRSS"))
        #expect(abs(rss - Double(procRSS)) <= Double(1 << 20), "Prometheus has RSS \(rss), /proc says \(procRSS)")
        #expect(rss >= Double(32 << 20))

        let threadCount = try #require(server.value("highwater_threads{pid=\"\(pid)\"}"))
        #expect(threadCount == Double(try #require(Self.status(pid, "Threads"))))

        let arenas = try #require(server.value("highwater_glibc_arenas{pid=\"\(pid)\"}"))
        let census = try ArenaCensus.read(pid: pid)
        #expect(arenas == Double(census.arenas))
        #expect(arenas >= 2, "the threads that malloc'd got no arena of their own: \(census)")
        #expect(server.value("highwater_glibc_arena_limit{pid=\"\(pid)\"}") == Double(ProcessEnviron.arenaLimit(pid: pid).limit))

        let used = try #require(server.value("highwater_watch_dir_used_bytes{dir=\"\(spool)\"}"))
        #expect(used == Double(try FilesystemProbe.used(of: spool)))
        #expect(used >= Double(3 << 20), "the unlinked upload's 3 MiB still count: \(used)")
        #expect(server.value("highwater_watch_dir_capacity_bytes{dir=\"\(spool)\"}") == Double(64 << 20))
        #expect(server.value("highwater_deleted_file_held_largest_bytes{pid=\"\(pid)\"}") == Double(3 << 20))

        // The target ends: its series are stale in Prometheus (no sample at all), not zero.
        try FileTree.writeAtomically([], to: dir + "/done")
        _ = await target.exit(timeoutNs: 30_000_000_000)
        let stale = await TestSupport.poll(seconds: 30, every: 250) { () -> Bool? in
            guard let result = server.query("process_resident_memory_bytes{pid=\"\(pid)\"}") else { return nil }
            return result.isEmpty ? true : nil
        }
        #expect(stale == true, "the ended target's series are still there: \(server.query("process_resident_memory_bytes{pid=\"\(pid)\"}") ?? [])")
        #expect(server.value("highwater_watch_targets") == 0)
    }
}
