@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
import Testing
import HighwaterSystem

@Suite("The HTTP host on a real loopback socket")
struct HostServerTests {
    static func connect(_ port: Int) throws -> Int32 {
        guard let fd = RawHTTP.connect(port: port) else { throw ProbeError.system("connect", path: "127.0.0.1:\(port)") }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = RawHTTP.send(fd, Array(text.utf8))
    }

    @Test("a client that disconnects mid-request leaks nothing in the host, and the next request is served")
    func disconnectMidRequest() async throws {
        let dir = TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeTree(dir) }
        let plan = RunPlan(scenario: "t", config: "c", executor: .init(kind: "fixed", size: 2),
                           workload: .init(name: "sleep", options: ["duration": "1ms"]), load: .init(requests: 1))
        try FileTree.writeAtomically(try RecordCoding.document(plan), to: dir + "/plan.json")
        let host = try HostedChild(plan: plan, planPath: dir + "/plan.json", directory: dir, executable: TestSupport.highwater)
        let port = try #require(await host.waitForPort())
        let probe = try ProcessProbe(pid: host.process.pid)
        let warm = try Self.connect(port)
        Self.send(warm, "GET /work HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = RawHTTP.read(warm)
        close(warm)
        await TestSupport.sleep(milliseconds: 100)
        let fdsBefore = try probe.fileDescriptorCount()
        for _ in 0..<20 {
            let fd = try Self.connect(port)
            Self.send(fd, "POST /work HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial body")
            close(fd)
        }
        await TestSupport.sleep(milliseconds: 300)
        #expect(try probe.fileDescriptorCount() <= fdsBefore, "no socket left behind in the host")
        let fd = try Self.connect(port)
        defer { close(fd) }
        Self.send(fd, "GET /work HTTP/1.1\r\nHost: x\r\nx-highwater-request: 7\r\n\r\n")
        #expect(RawHTTP.read(fd)?.status == 200)
        // Unknown routes answer 404, and the server goes on.
        Self.send(fd, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(RawHTTP.read(fd)?.status == 404)
        #expect(await host.stop(port: port) == .exited(0))
    }
}
