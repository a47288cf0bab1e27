import NIOCore
import NIOFileSystem
import NIOHTTP1

/// Spools each upload's body, as it arrives, to a file in `TMPDIR` that has no name (O_TMPFILE: open and unlinked
/// while it is written, as the temp files of Python's upload parsers are), then drops it and answers the bytes
/// spooled. A full temp dir is answered 507.
struct UploadSpool: Sendable {
    func receive(_ body: inout RequestParts) async throws -> Response {
        var file: WriteFileHandle?
        var failure: (any Error)?
        var spooled: Int64 = 0
        do {
            let path = try await FileSystem.shared.temporaryDirectory.appending("upload")
            file = try await FileSystem.shared.openFile(forWritingAt: path, options: .newFile(replaceExisting: false))
        } catch {
            failure = error
        }
        while let part = try await body.next() {
            guard case .body(let chunk) = part else {
                if case .end = part { break } else { continue }
            }
            guard let open = file else { continue }  // after a failure the rest of the body is read and dropped
            do {
                try await open.write(contentsOf: chunk, toAbsoluteOffset: spooled)
                spooled += Int64(chunk.readableBytes)
            } catch {
                failure = error
                try? await open.close(makeChangesVisible: false)
                file = nil
            }
        }
        try? await file?.close(makeChangesVisible: false)
        if let failure {
            return Response(.insufficientStorage, "could not spool the upload: \(failure)\n")
        }
        return Response(.ok, "\(spooled)\n")
    }
}
