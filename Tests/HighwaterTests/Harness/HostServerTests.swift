@preconcurrency import Glibc
import FoundationEssentials
import HighwaterAnalysis
import HighwaterHarness
import HighwaterProbes
import Testing

@Suite("The HTTP host on a real loopback socket")
struct HostServerTests {
    /// Connects to 127.0.0.1:port and returns the socket.
    static func connect(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { throw ProbeError.system("connect", path: "127.0.0.1:\(port)") }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    static func receive(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }

    @Test("a client that disconnects mid-request leaks nothing in the host, and the next request is served")
    func disconnectMidRequest() async throws {
        let dir = TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeTree(dir) }
        let plan = RunPlan(scenario: "t", config: "c", executor: .init(kind: "fixed", size: 2),
                           workload: .init(name: "sleep", options: ["duration": "1ms"]), load: .init(requests: 1))
        try FileTree.write(try JSONEncoder().encode(plan), to: dir + "/plan.json")
        let host = try HostedChild(plan: plan, planPath: dir + "/plan.json", directory: dir, executable: TestSupport.highwater)
        let port = try #require(host.waitForPort())
        let probe = try ProcessProbe(pid: host.process.pid)
        let warm = try Self.connect(port)
        Self.send(warm, "GET /work HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = Self.receive(warm)
        close(warm)
        usleep(100_000)
        let fdsBefore = try probe.fileDescriptorCount()
        for _ in 0..<20 {
            let fd = try Self.connect(port)
            Self.send(fd, "POST /work HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial body")
            close(fd)
        }
        usleep(300_000)
        #expect(try probe.fileDescriptorCount() <= fdsBefore, "no socket left behind in the host")
        let fd = try Self.connect(port)
        defer { close(fd) }
        Self.send(fd, "GET /work HTTP/1.1\r\nHost: x\r\nx-highwater-request: 7\r\n\r\n")
        #expect(Self.receive(fd).hasPrefix("HTTP/1.1 200"))
        // Unknown routes answer 404, and the server goes on.
        Self.send(fd, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(Self.receive(fd).hasPrefix("HTTP/1.1 404"))
        #expect(await host.stop(port: port) == .exited(0))
    }
}
