import HighwaterRecords
import HighwaterUploads
import HighwaterWorkloads

/// The uploads the load driver sends: request `i` carries a file of the next size in `load.payload` (cycled), as
/// `curl -F file=@…` would (multipart/form-data) or as the raw body.
enum UploadLoad {
    static let defaultFileBytes: UInt64 = 1 << 20

    static func body(load: RunPlan.Load, encoding: UploadWorkload.Encoding) -> @Sendable (Int) -> RequestBody? {
        let sizes = load.payloadBytes.isEmpty ? [defaultFileBytes] : load.payloadBytes
        return { i in
            let size = sizes[i % sizes.count]
            let name = "upload-\(i).bin"
            let tag = [("x-highwater-payload", "\(size)")]
            switch encoding {
            case .multipart:
                let framing = MultipartFraming(fileName: name)
                return RequestBody(contentType: framing.requestContentType, headers: tag, prefix: framing.head,
                                   fillBytes: Int(size), suffix: framing.tail)
            case .raw:
                return RequestBody(contentType: "application/octet-stream", headers: tag + [("x-highwater-file-name", name)],
                                   fillBytes: Int(size))
            }
        }
    }
}
