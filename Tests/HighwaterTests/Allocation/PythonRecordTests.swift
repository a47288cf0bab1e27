@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing

/// `record --agent` on a Starlette app under uvicorn with three routes (one keeps each request's bytes, one churns numpy
/// arrays on the thread pool, one does nothing): the Python function that keeps the memory is named, with its line.
@Suite("record --agent names the Python function that retains")
struct PythonRecordTests {
    static let python: String? = {
        guard let python = UvicornApp.python, PythonFramesTests.python != nil,
              TestSupport.succeeds([python, "-c", "import numpy"]) else { return nil }
        return python
    }()

    static let app = """
        import numpy as np
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        KEPT = []

        async def keep(request):
            body = await request.body()
            KEPT.append(bytearray(body))
            return PlainTextResponse(str(len(KEPT)))

        def churn(request):
            total = 0.0
            for _ in range(4):
                a = np.ones(100_000)
                b = a * 2.0
                total += float(b[0])
                del a, b
            return PlainTextResponse(str(total))

        async def nothing(request):
            return PlainTextResponse('ok')

        app = Starlette(routes=[Route('/keep', keep, methods=['POST']), Route('/churn', churn), Route('/nothing', nothing)])
        """

    @Test("the keeping route's function is the top retained site with its line, the churning one retains nothing, the leak names it",
          .enabled(if: AllocationAgentTests.agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: python != nil, "the venv's CPython 3.11 with uvicorn, starlette and numpy is absent (make test makes .venv)"))
    func namesTheKeepingFunction() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-python-record")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Self.app, to: dir + "/app.py")
        let port = RecordTestServer.freePort()
        let out = dir + "/results"
        let base = "http://127.0.0.1:\(port)"
        // 12.5 s of keeping: a verdict needs 10 s after the warm-up (verdict.min_seconds), or it is "not enough time".
        let r = await TestSupport.run([TestSupport.highwater, "record", "--agent", "--ready", base + "/nothing", "--out", out,
                                       "--load", "POST \(base)/keep n=1500 rate=120 body=8KiB",
                                       "--load", "GET \(base)/churn n=300 c=10",
                                       "--load", "GET \(base)/nothing n=500 c=10", "--",
                                       Self.python!, "-m", "uvicorn", "app:app", "--app-dir", dir, "--host", "127.0.0.1",
                                       "--port", "\(port)", "--log-level", "warning"], timeoutNs: 300_000_000_000)
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let sites = RecordCoding.lines(AllocationSite.self, from: try FileTree.readBytes(out + "/record/alloc-sites.jsonl"))
        let top = try #require(sites.first, "\(r.stdout)")
        #expect(top.site == "keep (\(dir)/app.py:10)", "\(sites.prefix(3).map(\.site))")
        // 1500 copies of 8 KiB: 12.3 MB held, estimated from samples of one per 512 KiB on average.
        #expect(top.retained_bytes > 6_000_000 && top.retained_bytes < 25_000_000, "\(top)")
        #expect(top.caller?.hasPrefix("request_response.<locals>.app.<locals>.app (") == true, "\(top.stack ?? [])")
        let churning = sites.filter { $0.site.hasPrefix("churn (\(dir)/app.py:") || $0.site.hasPrefix("ones (") }
        #expect(!churning.isEmpty && churning.allSatisfy { $0.retained_bytes == 0 } && churning.contains { $0.alloc_bytes > 100_000_000 },
                "\(churning)")
        let keeping = try #require(try RecordTestServer.results(out).runs.first)
        #expect(keeping.growth.finding?.contains("keep (\(dir)/app.py:10)") == true, "\(keeping.growth.finding ?? "")")
        let folded = try FileTree.readText(out + "/record/retained.folded")
        #expect(folded.contains("keep (\(dir)/app.py:10)"))
    }
}
