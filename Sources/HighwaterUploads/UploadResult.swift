/// How an upload is stored on its way to the destination.
package enum UploadMode: Equatable, Sendable, CustomStringConvertible {
    /// Starlette's `UploadFile`: spool the file part (memory up to `threshold`, then `tempDir`), then copy it.
    case spooled(threshold: Int = SpooledFile.defaultThreshold, tempDir: String)
    /// Write the file part to its destination as it arrives.
    case streamed

    package var description: String {
        switch self {
        case .spooled(let threshold, let dir): "spooled(threshold: \(threshold), temp_dir: \(dir))"
        case .streamed: "streamed"
        }
    }
}

/// Limits past which an upload is refused with 413; nil is no limit.
package struct UploadLimits: Equatable, Sendable {
    package var maxFileBytes: UInt64?
    package var maxBodyBytes: UInt64?
    /// A non-file part is held in memory, so it is always bounded.
    package var maxFieldBytes: Int
    package var maxParts: Int

    package init(maxFileBytes: UInt64? = nil, maxBodyBytes: UInt64? = nil, maxFieldBytes: Int = 64 << 10, maxParts: Int = 64) {
        self.maxFileBytes = maxFileBytes
        self.maxBodyBytes = maxBodyBytes
        self.maxFieldBytes = maxFieldBytes
        self.maxParts = maxParts
    }
}

/// What one upload cost: bytes at each place they went, and time per phase.
package struct UploadResult: Equatable, Sendable {
    package var mode: UploadMode
    /// Request body bytes, multipart framing included.
    package var bytesReceived: UInt64
    /// Bytes of the file itself.
    package var fileBytes: UInt64
    /// Bytes the spool kept in memory before (or instead of) the temp dir.
    package var bytesWrittenToMemory: UInt64
    package var bytesWrittenToTempDir: UInt64
    package var bytesWrittenToDestination: UInt64
    package var thresholdCrossed: Bool
    /// From the receiver's creation to the end of the file part: receiving, parsing, and spooling or streaming.
    package var receiveNs: UInt64
    /// Copying the spool to the destination; 0 when streamed.
    package var copyNs: UInt64
    package var destinationPath: String
    /// The file name as the request gave it (validated).
    package var fileName: String
    /// Non-file form fields, by name.
    package var fields: [String: String]

    /// Bytes written to any filesystem per byte of the file: about 2 spooled past the threshold, 1 streamed.
    package var bytesWrittenPerFileByte: Double {
        fileBytes == 0 ? 0 : Double(bytesWrittenToTempDir + bytesWrittenToDestination) / Double(fileBytes)
    }

    /// The 200 response body for the host, with the figures a run records.
    package var jsonBody: String {
        var json = JSONObject()
        json.add("file_name", fileName)
        json.add("destination", destinationPath)
        json.add("mode", mode.isStreamed ? "streamed" : "spooled")
        json.add("bytes_received", bytesReceived)
        json.add("file_bytes", fileBytes)
        json.add("bytes_to_memory", bytesWrittenToMemory)
        json.add("bytes_to_temp_dir", bytesWrittenToTempDir)
        json.add("bytes_to_destination", bytesWrittenToDestination)
        json.add("threshold_crossed", thresholdCrossed)
        json.add("receive_ns", receiveNs)
        json.add("copy_ns", copyNs)
        return json.text
    }
}

extension UploadMode {
    var isStreamed: Bool { if case .streamed = self { true } else { false } }
}
