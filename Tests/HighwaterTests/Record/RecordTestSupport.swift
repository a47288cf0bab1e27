@preconcurrency import Glibc
import HighwaterHarness
import HighwaterRecords
import HighwaterSystem
import HighwaterHost

/// A small real HTTP server for `record`'s tests: Python's own ThreadingHTTPServer, with the behaviours the fault
/// tests need chosen by arguments, and the pids of what it started written to a file so a test can check none is left.
enum RecordTestServer {
    static var python: String? { TestSupport.which("python3") }

    /// A loopback port nothing listens on now: the server binds it next.
    static func freePort() -> Int {
        // Port 0 would let the server bind anywhere, and the test fail later on readiness with a misleading message.
        guard let port = try? LoopbackPort.free() else { preconditionFailure("no free loopback port to give the test server") }
        return port
    }

    /// Writes the server script into `dir` and returns the command that starts it on `port`.
    /// - crashAt: the request after which it ends with `os._exit(3)`, saying so on stderr.
    /// - ignoreTerm: ignore SIGTERM, and start a `sleep` child (a descendant that must not be orphaned).
    /// - withChild: start a `sleep` child without ignoring SIGTERM (a worker left in the group when the server dies).
    /// - exitOnTerm: end normally on SIGTERM (exit handlers run), as servers like uvicorn do.
    static func command(dir: String, port: Int, crashAt: Int? = nil, ignoreTerm: Bool = false, withChild: Bool = false,
                        exitOnTerm: Bool = false) throws -> [String] {
        let script = """
        import os, signal, subprocess, sys, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        pids = open('\(dir)/pids', 'w')
        pids.write(str(os.getpid()) + '\\n')
        if \(ignoreTerm ? "True" : "False"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if \(exitOnTerm ? "True" : "False"):
            def on_term(*args):
                raise SystemExit(0)
            signal.signal(signal.SIGTERM, on_term)
        kept = []
        if \(ignoreTerm || withChild ? "True" : "False"):
            child = subprocess.Popen(['sleep', '300'])
            pids.write(str(child.pid) + '\\n')
        pids.flush()
        count = 0
        held = []
        lock = threading.Lock()
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                global count
                with lock:
                    count += 1
                    n = count
                if \(crashAt.map(String.init) ?? "0") and n > \(crashAt.map(String.init) ?? "0"):
                    sys.stderr.write('boom: giving up at request %d\\n' % n)
                    sys.stderr.flush()
                    os._exit(3)
                if self.path == '/leak':
                    kept.append(b'x' * (64 << 10))
                if self.path == '/spike':
                    spike = b'x' * (64 << 20)
                    del spike
                junk = [bytearray(1024) for _ in range(100)]
                body = b'ok %d' % len(junk)
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_POST(self):
                # /hold spools the body to an unlinked temp file in TMPDIR and keeps it open, as a spooled upload does.
                import tempfile
                spool = tempfile.TemporaryFile() if self.path == '/hold' else None
                left = int(self.headers.get('Content-Length', '0'))
                while left > 0:
                    chunk = self.rfile.read(min(left, 65536))
                    if not chunk:
                        break
                    if spool:
                        spool.write(chunk)
                    left -= len(chunk)
                if not spool:
                    self.send_error(501)
                    return
                spool.flush()
                held.append(spool)
                self.send_response(200)
                self.send_header('Content-Length', '0')
                self.end_headers()
            def log_message(self, *args):
                pass
        server = ThreadingHTTPServer(('127.0.0.1', \(port)), Handler)
        print('listening on port \(port)', flush=True)
        server.serve_forever()
        """
        try FileTree.writeAtomically(script, to: dir + "/server.py")
        return [python ?? "python3", dir + "/server.py"]
    }

    /// The pids the server wrote (itself, and its child when it has one).
    static func pids(dir: String) -> [Int32] {
        ((try? FileTree.readText(dir + "/pids")) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? FileTree.readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].dropFirst().first
        return state != "Z"
    }

    /// How one `record` of the test server ended, and where it wrote.
    struct Recorded {
        var termination: Termination
        var stdout: String
        var stderr: String
        /// DIR/results.
        var out: String
        var port: Int
    }

    /// Starts the test server from `dir` on a free port (its behaviours as `command` takes them) and records it, as a
    /// user would: `highwater record --ready http://127.0.0.1:PORT/ --out DIR/results ARGUMENTS… -- SERVER`, where
    /// `arguments` gets the port for its load specs.
    static func record(in dir: String, crashAt: Int? = nil, ignoreTerm: Bool = false, withChild: Bool = false, exitOnTerm: Bool = false,
                       environment: [String: String]? = nil, _ arguments: (_ port: Int) -> [String]) async throws -> Recorded {
        let port = freePort()
        let server = try command(dir: dir, port: port, crashAt: crashAt, ignoreTerm: ignoreTerm, withChild: withChild, exitOnTerm: exitOnTerm)
        let out = dir + "/results"
        let r = await TestSupport.run([TestSupport.highwater, "record", "--ready", "http://127.0.0.1:\(port)/", "--out", out]
                                      + arguments(port) + ["--"] + server, environment: environment)
        return Recorded(termination: r.termination, stdout: r.stdout, stderr: r.stderr, out: out, port: port)
    }

    static func results(_ out: String) throws -> ResultsSummary {
        try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(out + "/summary.json"))
    }

    /// Each phase's own summary.json, as stored beside its records: the one the session stores once it is final.
    static func phaseSummaries(_ out: String, scenario: String = "record") throws -> [RunSummary] {
        try results(out).runs.filter { $0.scenario == scenario }.map {
            try RecordCoding.decode(RunSummary.self, from: FileTree.readBytes(out + "/" + scenario + "/" + $0.run_id + "/summary.json"))
        }
    }
}
