@preconcurrency import Glibc
import HighwaterRecords
import Testing
import HighwaterSystem

/// `record` on a real third-party server: uvicorn serving a small Starlette app of the test's own, from the
/// project's venv (`make test` installs pip:uvicorn pip:starlette pip:python-multipart into .venv).
enum UvicornApp {
    static let packageRoot: String = {
        var path = "\(#filePath)"
        for _ in 0..<4 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        return path
    }()

    /// The venv's python when it has the three packages.
    static let python: String? = {
        let candidate = packageRoot + "/.venv/bin/python"
        guard access(candidate, X_OK) == 0,
              TestSupport.succeeds([candidate, "-c", "import uvicorn, starlette, multipart"]) else { return nil }
        return candidate
    }()

    /// A sync endpoint (Starlette runs it in anyio's thread pool of 40) that builds and drops about 1 MiB of Python
    /// objects, and an upload endpoint that reads the multipart form (python-multipart spools each file past 1 MiB
    /// to an unlinked temp file in TMPDIR).
    static let app = """
    import time
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    def work(request):
        junk = [bytearray(1000) for _ in range(1000)]
        del junk
        # A sync handler also waits (a database, a file): the pool fills to its 40 threads.
        time.sleep(0.01)
        return PlainTextResponse('ok')

    async def upload(request):
        try:
            form = await request.form()
            size = form['file'].size
            await form.close()
            return PlainTextResponse(str(size))
        except OSError as e:
            return PlainTextResponse('could not spool the upload: %s' % e, status_code=507)

    app = Starlette(routes=[Route('/work', work), Route('/upload', upload, methods=['POST'])])
    """

    static func command(dir: String, port: Int) throws -> [String] {
        try FileTree.writeAtomically(app, to: dir + "/app.py")
        return [python!, "-m", "uvicorn", "app:app", "--app-dir", dir, "--host", "127.0.0.1", "--port", "\(port)", "--log-level", "warning"]
    }

}

@Suite("record on uvicorn + Starlette", .enabled(if: UvicornApp.python != nil, "the venv's uvicorn, starlette and python-multipart are absent: run `make test` (scripts/install-deps pip:uvicorn pip:starlette pip:python-multipart)"))
struct RecordUvicornTests {
    @Test("the sync endpoint at concurrency 40: 40 pool threads, the census at glibc's limit, a plateau and not a leak")
    func threadPoolArenas() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-uvicorn")
        defer { TestSupport.removeTree(dir) }
        let port = RecordTestServer.freePort()
        let out = dir + "/results"
        let r = await TestSupport.run([TestSupport.highwater, "record", "--ready", "http://127.0.0.1:\(port)/", "--out", out, "--name", "starlette",
                                       // A warm-up phase, then the judged one. Alone, 3000 requests fill the pool's arenas
                                       // in their first tenth; beside the rest of the suite (42 s instead of 3 s) the
                                       // arenas rose to their high-water marks through the whole phase, which read as linear.
                                       "--load", "GET http://127.0.0.1:\(port)/work n=1500 c=40",
                                       // The judged phase paced to last 12 s: a verdict needs 10 s of wall time
                                       // (an allocator's return of memory), however many requests it has.
                                       "--load", "GET http://127.0.0.1:\(port)/work n=3000 rate=250", "--"] + (try UvicornApp.command(dir: dir, port: port)),
                                      timeoutNs: 300_000_000_000)
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let runs = try RecordTestServer.results(out).runs
        try #require(runs.count == 2)
        let run = runs[1]
        // The pool's growth happens in the first phase and stops: the second grows by a fraction of it at most.
        let filled = runs[0].rss_end > runs[0].rss_start ? runs[0].rss_end - runs[0].rss_start : 0
        #expect(filled > 4 << 20, "the first phase grew \(filled) bytes")
        #expect(run.rss_growth < Int64(filled / 4), "the second phase grew \(run.rss_growth) bytes after the first's \(filled)")
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #expect(run.requests == 3000 && run.errors == 0)
        // anyio's default limiter: 40 worker threads, beside the event loop's.
        #expect(run.threads_max >= 40, "threads \(run.threads_max)")
        let census = try #require(run.arena_census)
        // Each worker that mallocs gets an arena until glibc's limit (8 x cores, main included): 16 on 2 cores.
        #expect(census.limit == 8 * cores)
        #expect(census.arenas_max >= min(16, 8 * cores) && census.arenas_max <= 8 * cores, "\(census.finding)")
        #expect(census.heap_resident_peak > 0)
        #expect(run.growth.classification != .linear && run.growth.classification != .notRun, "\(run.growth)")
        #expect([.plateau, .retention, .stable].contains(run.growth.classification), "\(run.growth.label ?? "") \(run.growth.finding ?? "")")
        Terminal.write("uvicorn sync c=40 on \(cores) cores: threads \(run.threads_max), \(census.finding); verdict \(run.growth.classification.rawValue) (\(run.growth.label ?? "")), RSS \(Quantity.formatBytes(run.rss_start)) -> \(Quantity.formatBytes(run.rss_end)), peak \(Quantity.formatBytes(run.rss_peak)), \(Quantity.format(run.throughput_rps)) req/s\n")
    }

    @Test("uploads spooled to a 16 MiB tmpfs: the size they started failing at, the status, and the deleted file that filled it",
          .enabled(if: TestSupport.isRoot, "mounting a tmpfs needs root"))
    func uploadsFillTmpfs() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-uvicorn")
        defer { TestSupport.removeTree(dir) }
        let tmp = dir + "/tmp"
        try FileTree.createDirectory(tmp)
        guard mount("tmpfs", tmp, "tmpfs", 0, "size=16m") == 0 else { Issue.record("mount tmpfs: errno \(errno)"); return }
        defer { _ = umount2(tmp, Int32(MNT_DETACH)) }
        let port = RecordTestServer.freePort()
        let out = dir + "/results"
        var environment = ProcessEnvironment.current
        environment["TMPDIR"] = tmp
        let r = await TestSupport.run([TestSupport.highwater, "record", "--ready", "http://127.0.0.1:\(port)/", "--out", out, "--name", "starlette",
                                       "--watch-dir", tmp, "--load", "POST http://127.0.0.1:\(port)/upload n=16 upload=2MiB..32MiB", "--"]
                                      + (try UvicornApp.command(dir: dir, port: port)), environment: environment, timeoutNs: 300_000_000_000)
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let run = try #require(try RecordTestServer.results(out).runs.first)
        let failedAt = try #require(run.workload?[.smallestFailed])
        let passed = try #require(run.workload?[.largestPassed])
        // The spool fits while the file fits the 16 MiB tmpfs (sizes step by 2 MiB): 16 MiB passes, 18 MiB does not.
        #expect(passed <= Double(16 << 20) && failedAt > Double(16 << 20) && failedAt <= Double(18 << 20), "passed \(passed), failed at \(failedAt)")
        #expect(run.workload?[.failedStatus] == 507)
        // The sentence a hosted run's uploads get, from the same fields, stored with its kind so the report and the
        // terminal find it by kind.
        let boundary = try #require(UploadBoundary(figures: run.workload))
        #expect(run.notes(.uploadBoundary) == [try #require(Finding.uploadBoundary(boundary)).text])
        #expect(run.notes(.uploadBoundary).first?.contains("with status 507; the largest that passed was") == true, "\(run.notes ?? [])")
        let filled = try #require(run.temp_dir)
        #expect(filled.wasFull && filled.path == tmp)
        let holder = try #require(run.temp_dir_holders?.first)
        #expect(holder.deleted && holder.process.hasPrefix("python") && holder.size_peak > 8 << 20, "\(holder)")
        let finding = try #require(run.temp_dir_finding)
        #expect(finding.contains("(pid \(holder.pid)) held a deleted") && finding.contains("when its filesystem filled") && finding.contains("answered 507"), "\(finding)")
        let report = await TestSupport.run([TestSupport.highwater, "report", out])
        #expect(report.termination == .exited(0))
        #expect(((try? FileTree.readText(out + "/report.md")) ?? "").contains("held a deleted"))
        Terminal.write("uvicorn uploads on a 16 MiB tmpfs: largest passed \(Quantity.formatBytes(UInt64(passed))), failed from \(Quantity.formatBytes(UInt64(failedAt))); \(finding)\n")
    }
}
