@preconcurrency import Glibc
import FoundationEssentials
import HighwaterHarness
import HighwaterProbes
import HighwaterRecords
import Testing
import HighwaterSystem
import HighwaterHost
import HighwaterWorkloads

@Suite("Downloads: chunked, sendfile and nginx's X-Accel-Redirect serve the same bytes")
struct DownloadTests {
    static let nginx = NginxOffload.locate() != nil

    /// An answer read to the end of its body, as bytes.
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    /// One request on its own connection (`Connection: close`), read to EOF.
    static func fetch(port: Int, method: String = "GET", range: String? = nil) throws -> Answer {
        guard let fd = RawHTTP.connect(port: port) else { throw ProbeError.system("connect", path: "127.0.0.1:\(port)") }
        defer { close(fd) }
        var request = "\(method) \(DownloadWorkload.route) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let range { request += "Range: \(range)\r\n" }
        _ = RawHTTP.send(fd, Array((request + "\r\n").utf8))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0...max(0, received.count - 4)).first(where: { Array(received[$0..<min($0 + 4, received.count)]) == separator }) else {
            throw ProbeError.system("recv", path: "no HTTP head from 127.0.0.1:\(port)")
        }
        let lines = String(decoding: received[..<end], as: UTF8.self).split(separator: "\r\n")
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: " ")
        }
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        return Answer(status: status, headers: headers, body: Array(received[(end + 4)...]))
    }

    /// FNV-1a, 64 bits: enough to tell two files apart in a test.
    static func hash(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    @Test("GET, HEAD and ranges give the file's bytes on every path; a range past the end is 416 on every path",
          arguments: ["download-chunked", "download-sendfile", "download-accel"])
    func identicalBytes(workload: String) async throws {
        try #require(workload != "download-accel" || Self.nginx, "nginx is not installed (scripts/install-deps installs it)")
        let dir = TestSupport.makeTemporaryDirectory("hw-download")
        defer { TestSupport.removeTree(dir) }
        // Not a multiple of the chunk: the last read is short.
        let size = 3 << 20 + 12_345
        let path = dir + "/served.bin"
        try DownloadFile.make(at: path, bytes: size)
        let bytes = try #require(Self.readBytes(path))
        #expect(bytes.count == size)

        let plan = RunPlan(scenario: "t", config: workload, executor: .init(kind: "fixed", size: 2),
                           workload: .init(name: workload, options: ["file": path, "chunk": "64 KiB"]), load: .init(requests: 1))
        try FileTree.writeAtomically(try RecordCoding.document(plan), to: dir + "/plan.json")
        let host = try HostedChild(plan: plan, planPath: dir + "/plan.json", directory: dir, executable: TestSupport.highwater)
        let hostPort = try #require(await host.waitForPort())
        var nginx: NginxOffload?
        if workload == "download-accel" {
            nginx = try NginxOffload(upstreamPort: hostPort, filesDirectory: dir, location: DownloadWorkload.accelLocation, tempBase: dir)
        }
        let port = nginx?.port ?? hostPort

        let whole = try Self.fetch(port: port)
        #expect(whole.status == 200)
        #expect(whole.body.count == size)
        #expect(Self.hash(whole.body[...]) == Self.hash(bytes[...]))
        let head = try Self.fetch(port: port, method: "HEAD")
        #expect(head.status == 200 && head.headers["content-length"] == "\(size)" && head.body.isEmpty)
        for (range, slice) in [("bytes=100-1099", 100...1099), ("bytes=-500", (size - 500)...(size - 1)),
                               ("bytes=\(size - 10)-", (size - 10)...(size - 1)), ("bytes=65530-200000", 65530...200_000)] {
            let part = try Self.fetch(port: port, range: range)
            #expect(part.status == 206, "\(range)")
            #expect(part.headers["content-range"] == "bytes \(slice.lowerBound)-\(slice.upperBound)/\(size)", "\(range)")
            #expect(Self.hash(part.body[...]) == Self.hash(bytes[slice]), "\(range)")
        }
        let past = try Self.fetch(port: port, range: "bytes=\(size)-")
        #expect(past.status == 416)
        #expect(past.headers["content-range"] == "bytes */\(size)")

        if let nginx {
            let nginxPIDs = nginx.processIDs()
            let nginxDir = nginx.directory
            nginx.stop()
            #expect(access(nginxDir, F_OK) != 0, "nginx's config dir is removed")
            for pid in nginxPIDs { #expect(kill(pid, 0) != 0, "nginx process \(pid) is gone") }
        }
        #expect(await host.stop(port: hostPort) == .exited(0))
    }

    static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return n == bytes.count ? bytes : nil
    }

    @Test("a Range header read as RFC 9110 says, for a file of 1000 bytes", arguments: [
        ("bytes=0-99", ByteRange.slice(start: 0, end: 99)), ("bytes=990-", .slice(start: 990, end: 999)),
        ("bytes=-10", .slice(start: 990, end: 999)), ("bytes=-5000", .slice(start: 0, end: 999)),
        ("bytes=500-5000", .slice(start: 500, end: 999)), ("bytes=1000-", .unsatisfiable), ("bytes=2000-3000", .unsatisfiable),
        ("bytes=0-1,5-6", .whole), ("bytes=9-3", .whole), ("items=0-1", .whole), ("bytes=-0", .unsatisfiable),
    ])
    func rangeHeader(header: String, expected: ByteRange) {
        #expect(ByteRange(header: header, size: 1000) == expected)
    }
}
