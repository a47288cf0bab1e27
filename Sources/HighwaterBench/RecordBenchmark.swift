@preconcurrency import Glibc
import HighwaterHarness
import HighwaterRecords
import HighwaterSystem
import HighwaterHost

/// What `record`'s sampling costs the target: the same load at a Python server, recorded with sampling at the chosen
/// interval (and the arena census every 200 ms) and with sampling all but off (one sample an hour, no census),
/// rounds alternating, so a drift of the shared machine falls on both. The ratio is of the medians.
enum RecordBenchmark {
    struct Round {
        var sampledRPS: Double
        var unsampledRPS: Double
    }

    /// A stdlib server whose handler builds and drops about 1 MiB of Python objects, as the tests' Starlette app.
    static let server = """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        # Headers and body go out in two writes: without this, Nagle and delayed ACKs hold each answer 40 ms.
        disable_nagle_algorithm = True
        def do_GET(self):
            junk = [bytearray(1000) for _ in range(1000)]
            del junk
            self.send_response(200)
            self.send_header('Content-Length', '2')
            self.end_headers()
            self.wfile.write(b'ok')
        def log_message(self, *args):
            pass
    ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()
    """

    static func run(rounds: Int, requests: Int, concurrency: Int, intervalNs: UInt64) async throws -> [Round] {
        guard let python = Executable.find("python3") else { throw BenchFailure(message: "python3 is not installed") }
        let dir = try FileTree.makeTemporaryDirectory(in: "/tmp", prefix: "hw-bench-record-")
        defer { FileTree.removeTree(dir) }
        try FileTree.writeAtomically(server, to: dir + "/server.py")
        var results: [Round] = []
        for _ in 0..<rounds {
            var round = Round(sampledRPS: 0, unsampledRPS: 0)
            for sampled in [true, false] {
                let port = try LoopbackPort.free()
                var options = RecordSession.Options()
                options.command = [python, dir + "/server.py", "\(port)"]
                options.readiness = .http(host: "127.0.0.1", port: port, path: "/")
                options.loads = [try LoadSpec(parsing: "GET http://127.0.0.1:\(port)/work n=\(requests) c=\(concurrency)")]
                options.intervalNs = sampled ? intervalNs : 3_600_000_000_000
                options.censusIntervalNs = sampled ? 200_000_000 : nil
                options.outDirectory = dir + "/out"
                options.graceNs = 2_000_000_000
                let outcome = try await RecordSession(options: options).run()
                let rps = outcome.summaries.first?.throughput_rps ?? 0
                if sampled { round.sampledRPS = rps } else { round.unsampledRPS = rps }
            }
            results.append(round)
        }
        return results
    }
}
