import HighwaterRecords
@preconcurrency import Glibc
import HighwaterSystem

/// Why an upload failed, and the HTTP answer a host gives for it.
package struct UploadError: Error, CustomStringConvertible, Equatable, Sendable {
    package enum Code: Equatable, Sendable {
        /// A `multipart/*` content type without a usable boundary parameter.
        case missingBoundary(contentType: String)
        /// The multipart body breaks the syntax (the parser's complaint, or what we found wrong).
        case malformedMultipart(String)
        /// The body ended before its closing delimiter (a part cut short).
        case truncatedBody(bytesReceived: UInt64)
        /// A multipart body with no part that carries a file name.
        case noFilePart
        /// A raw body needs its file name from the request (a header or the path).
        case missingFileName
        /// The file name from the request would leave the destination directory, or is not a name.
        case badFileName(DestinationNameError)
        /// A part or the body is larger than the configured limit.
        case tooLarge(what: String, limit: UInt64)
        /// The temp dir or the destination filled up.
        case insufficientStorage(StorageError)
        /// Another system call failed.
        case system(call: String, path: String, errno: Int32)
        /// The client went away and the host aborted the upload.
        case aborted
    }

    package var code: Code

    package init(_ code: Code) {
        self.code = code
    }

    static func system(_ call: String, path: String, errno: Int32 = Glibc.errno) -> UploadError {
        UploadError(.system(call: call, path: path, errno: errno))
    }

    init(_ error: SystemError) {
        self.init(.system(call: error.call, path: error.path, errno: error.errno))
    }

    /// 400 for what the client sent wrong, 413 past a limit, 507 for a full filesystem, 500 for the rest.
    package var httpStatus: Int {
        switch code {
        case .missingBoundary, .malformedMultipart, .truncatedBody, .noFilePart, .missingFileName, .badFileName: 400
        case .tooLarge: 413
        case .insufficientStorage: 507
        case .aborted: 499
        case .system: 500
        }
    }

    /// The response body: `{"error": …}`, and for a full filesystem its directory, capacity, free bytes and bytes needed.
    package var jsonBody: String {
        var json = JSONObject()
        json.add("error", description)
        switch code {
        case .insufficientStorage(let storage):
            json.add(storage.role.rawValue, storage.directory)
            json.add("capacity", storage.capacity)
            json.add("free", storage.free)
            json.add("bytes_needed", storage.bytesNeeded)
            json.add("bytes_written", storage.bytesWritten)
        case .tooLarge(let what, let limit):
            json.add("too_large", what)
            json.add("limit", limit)
        case .badFileName(let bad):
            json.add("file_name", bad.name)
        default:
            break
        }
        return json.text
    }

    package var description: String {
        switch code {
        case .missingBoundary(let type): "multipart body without a boundary parameter (Content-Type: \(type))"
        case .malformedMultipart(let why): "malformed multipart body: \(why)"
        case .truncatedBody(let n): "the body ended after \(n) bytes, before the closing multipart delimiter"
        case .noFilePart: "the multipart body has no part with a filename"
        case .missingFileName: "a raw upload needs a file name"
        case .badFileName(let bad): bad.description
        case .tooLarge(let what, let limit): "\(what) is larger than the limit of \(limit) bytes"
        case .insufficientStorage(let storage): "ENOSPC: " + storage.description
        case .system(let call, let path, let err): "\(call)(\(path)) failed: \(String(cString: strerror(err))) (errno \(err))"
        case .aborted: "the upload was aborted (client disconnected)"
        }
    }
}

/// A flat JSON object built by hand: error and result bodies are small and the child's memory is measured.
struct JSONObject {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    private mutating func key(_ name: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func add(_ name: String, _ value: String?) {
        key(name)
        if let value { appendString(value) } else { bytes.append(contentsOf: "null".utf8) }
    }

    mutating func add<T: BinaryInteger>(_ name: String, _ value: T) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func add(_ name: String, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    var text: String { String(decoding: bytes + [UInt8(ascii: "}")], as: UTF8.self) }

    private mutating func appendString(_ s: String) {
        JSONLine.appendQuoted(s, to: &bytes)
    }
}
