@preconcurrency import Glibc
import HighwaterSystem
import Testing

/// A running `highwater watch` for a test: started with the built binary, its port read from the line it says
/// when it serves, its /metrics read over loopback.
struct RunningWatch {
    let child: ChildProcess
    let port: Int
    let dir: String

    /// Starts `highwater watch ARGS --listen 127.0.0.1:0`; nil when it did not say it serves within a minute.
    static func start(_ arguments: [String], dir: String) async -> RunningWatch? {
        guard let child = try? ChildProcess([TestSupport.highwater, "watch", "--listen", "127.0.0.1:0"] + arguments,
                                            stdout: .file(dir + "/watch.out"), stderr: .file(dir + "/watch.err")) else { return nil }
        let port = await TestSupport.poll(seconds: 60, every: 20, stopIf: { child.poll() != nil }) { () -> Int? in
            let text = (try? FileTree.readText(dir + "/watch.out")) ?? ""
            guard let range = text.range(of: "serving http://127.0.0.1:") else { return nil }
            return Int(text[range.upperBound...].prefix { $0.isNumber })
        }
        guard let port else { TestSupport.end(child); return nil }
        return RunningWatch(child: child, port: port, dir: dir)
    }

    var metrics: String? { HTTPGet.text(port: port, path: "/metrics") }

    var stderr: String { (try? FileTree.readText(dir + "/watch.err")) ?? "" }

    /// The value of the series `name` whose labels include `pid="PID"` (and `kind` when given), from /metrics.
    static func value(_ text: String, _ name: String, pid: Int32? = nil, label: (String, String)? = nil) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") {
            if let pid, !line.contains("pid=\"\(pid)\"") { continue }
            if let label, !line.contains("\(label.0)=\"\(label.1)\"") { continue }
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }
}

/// GET over HTTP/1.0 on loopback, read to the end (no chunking, no keep-alive): for /metrics, Prometheus's API and
/// the heap profile.
enum HTTPGet {
    static func bytes(port: Int, path: String) -> (status: Int, body: [UInt8])? {
        guard let fd = RawHTTP.connect(port: port) else { return nil }
        defer { close(fd) }
        guard RawHTTP.send(fd, Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)) else { return nil }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 { return nil }
            if n == 0 { break }
            received += buffer[0..<n]
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, received.count - 3)).first(where: { Array(received[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: received[..<end], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, Array(received[(end + 4)...]))
    }

    static func text(port: Int, path: String) -> String? {
        bytes(port: port, path: path).flatMap { $0.status == 200 ? String(decoding: $0.body, as: UTF8.self) : nil }
    }

    /// A query string's value, percent-encoded (PromQL has braces, quotes and brackets).
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c.isLetter && byte < 128 || c.isNumber && byte < 128 || "-._~".contains(c) { out.append(c) } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
