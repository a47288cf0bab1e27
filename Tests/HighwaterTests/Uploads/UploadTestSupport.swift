@preconcurrency import Glibc
import HighwaterProbes
import HighwaterUploads
import NIOCore

/// Bodies and checks shared by the upload tests.
enum UploadTestSupport {
    /// A file whose bytes include CR, LF and '-', so the parser meets partial boundary matches inside the data.
    static func payload(_ count: Int) -> [UInt8] {
        (0..<count).map { i in
            switch i % 997 {
            case 0: UInt8(ascii: "\r")
            case 1: UInt8(ascii: "\n")
            case 2, 3: UInt8(ascii: "-")
            default: UInt8(truncatingIfNeeded: i &* 31 &+ 7)
            }
        }
    }

    static func multipartBody(file: [UInt8], framing: MultipartFraming, fieldBefore: (String, String)? = nil) -> [UInt8] {
        var body: [UInt8] = []
        if let (name, value) = fieldBefore {
            body += Array("--\(framing.boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        return body + framing.head + file + framing.tail
    }

    /// Chunk sizes that vary, small and odd ones included, as a socket would deliver.
    static let chunkSizes = [1, 7, 100, 4096, 65_537, 13, 262_144, 2, 1 << 20, 31_000]

    /// Feeds `body` in varied chunks; stops at `limit` bytes when given (a client that went away).
    static func feed(_ receiver: UploadReceiver, _ body: [UInt8], upTo limit: Int? = nil) throws(UploadError) {
        let end = min(limit ?? body.count, body.count)
        var offset = 0
        var i = 0
        while offset < end {
            let n = min(chunkSizes[i % chunkSizes.count], end - offset)
            try receiver.receive(ByteBuffer(bytes: body[offset..<(offset + n)]))
            offset += n
            i += 1
        }
    }

    /// Receives a whole multipart upload; the result, or the error it failed with.
    static func upload(_ file: [UInt8], mode: UploadMode, destination: String, fileName: String = "upload.bin",
                       limits: UploadLimits = UploadLimits()) -> Result<UploadResult, UploadError> {
        let framing = MultipartFraming(fileName: fileName)
        let body = multipartBody(file: file, framing: framing)
        do throws(UploadError) {
            let receiver = try UploadReceiver(contentType: framing.requestContentType, mode: mode, destinationDirectory: destination,
                                              limits: limits, expectedLength: UInt64(body.count))
            try feed(receiver, body)
            return .success(try receiver.finish())
        } catch {
            return .failure(error)
        }
    }

    /// Whether the filesystem holding `dir` is empty again, within 2 s: a child another test spawns at that moment
    /// copies this process's descriptors and holds a just-deleted file until its exec closes them (a clean clone's
    /// suite read it not yet 0 once, right after a failed upload). A file this process still held never comes back,
    /// and fails this.
    static func freed(_ dir: String) -> Bool {
        for _ in 0..<400 {
            if (try? FilesystemProbe.usage(of: dir).used) == 0 { return true }
            usleep(5_000)
        }
        return false
    }

    /// Names in a directory, `.` and `..` left out.
    static func entries(_ dir: String) -> [String] {
        guard let names = try? ProcDirectory.names(dir) else { return ["<cannot open \(dir)>"] }
        return names.sorted()
    }

    static func contents(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }
}
