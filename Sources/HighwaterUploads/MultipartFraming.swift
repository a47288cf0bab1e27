/// The bytes a client (curl -F, a browser) sends around one file in a `multipart/form-data` body:
/// the load driver sends them, tests build bodies with them, and the prediction counts them.
package struct MultipartFraming: Equatable, Sendable {
    package var boundary: String
    package var fieldName: String
    package var fileName: String
    package var contentType: String

    package init(boundary: String = "----HighwaterBoundary7MA4YWxkTrZu0gW", fieldName: String = "file",
                fileName: String, contentType: String = "application/octet-stream") {
        self.boundary = boundary
        self.fieldName = fieldName
        self.fileName = fileName
        self.contentType = contentType
    }

    /// The request's Content-Type header value.
    package var requestContentType: String { "multipart/form-data; boundary=\(boundary)" }

    /// Everything before the file's first byte: the opening delimiter and the part's headers.
    package var head: [UInt8] {
        Array(("--\(boundary)\r\n"
            + "Content-Disposition: form-data; name=\"\(fieldName)\"; filename=\"\(fileName)\"\r\n"
            + "Content-Type: \(contentType)\r\n\r\n").utf8)
    }

    /// Everything after the file's last byte: the close delimiter.
    package var tail: [UInt8] { Array("\r\n--\(boundary)--\r\n".utf8) }

    /// Body bytes that are not the file.
    package var overhead: UInt64 { UInt64(head.count + tail.count) }

    /// Content-Length of a body carrying `fileBytes` of file.
    package func bodyLength(fileBytes: UInt64) -> UInt64 { fileBytes + overhead }
}
