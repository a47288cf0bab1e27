@preconcurrency import Glibc
import HighwaterUploads
import HighwaterHost

/// HTTP/1.1 over a plain loopback socket, for the requests a well-behaved client never sends: bodies cut short,
/// wrong headers, and clients that leave mid-body.
enum RawHTTP {
    struct Response {
        var status: Int
        var body: String
    }

    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { close(fd); return nil }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    static func head(path: String, contentType: String, length: Int) -> [UInt8] {
        Array(("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(contentType)\r\n"
            + "Content-Length: \(length)\r\n\r\n").utf8)
    }

    /// Sends one request and reads its answer; nil when the connection failed or closed without one.
    static func exchange(port: Int, path: String = "/upload", contentType: String, body: [UInt8]) -> Response? {
        guard let fd = connect(port: port) else { return nil }
        defer { close(fd) }
        // A refused upload is answered once the whole body is in, so a failed send still leaves an answer to read.
        _ = send(fd, head(path: path, contentType: contentType, length: body.count) + body)
        return read(fd)
    }

    /// A multipart upload of `fileBytes` bytes of 'a'.
    static func upload(port: Int, framing: MultipartFraming, fileBytes: Int) -> Response? {
        exchange(port: port, contentType: framing.requestContentType,
                 body: framing.head + [UInt8](repeating: 97, count: fileBytes) + framing.tail)
    }

    /// Announces a multipart upload of `fileBytes`, sends `sendBytes` of the body, and closes the connection.
    static func abandon(port: Int, framing: MultipartFraming, fileBytes: Int, sendBytes: Int) {
        guard let fd = connect(port: port) else { return }
        let body = framing.head + [UInt8](repeating: 97, count: fileBytes) + framing.tail
        _ = send(fd, head(path: "/upload", contentType: framing.requestContentType, length: body.count) + body.prefix(sendBytes))
        close(fd)
    }

    static func read(_ fd: Int32) -> Response? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let headers = text[..<end.lowerBound].lowercased()
                let length = headers.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: " ")) } ?? 0
                let body = String(text[end.upperBound...])
                if body.utf8.count >= length {
                    let status = Int(headers.split(separator: " ").dropFirst().first ?? "") ?? 0
                    return Response(status: status, body: body)
                }
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return nil }
            received += buffer[0..<n]
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
