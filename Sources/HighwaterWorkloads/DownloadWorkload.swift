import HighwaterRecords
import HighwaterHost

/// The file responses of seed 002 as the host serves them on `/download`:
/// - `download-chunked`: Starlette's `FileResponse`: read a chunk on the executor, write it, wait, read the next;
/// - `download-sendfile`: aiohttp's answer: hand the file to the kernel (`sendfile`, NIO's `FileRegion`);
/// - `download-accel`: the production answer: the host only checks access and answers `X-Accel-Redirect`; nginx
///   in front serves the file.
///
/// Options: `file_size` (the file served; default 1 MiB), `chunk` (the chunked read size; default 64 KiB as
/// Starlette, 128 KiB is Vapor's and Hummingbird's), `file` (serve this file instead of a generated one; the
/// harness fills it in for a generated file).
package struct DownloadWorkload: Sendable {
    /// How the file is sent: the download workloads of `WorkloadKind`.
    package enum Mode: Sendable {
        case chunked, sendfile, accel

        package init?(_ kind: WorkloadKind?) {
            switch kind {
            case .downloadChunked: self = .chunked
            case .downloadSendfile: self = .sendfile
            case .downloadAccel: self = .accel
            default: return nil
            }
        }
    }

    package static let route = "/download"
    /// Where nginx finds the files the host names in `X-Accel-Redirect`; an `internal` location, so a client
    /// asking for it directly gets 404.
    package static let accelLocation = "/_highwater_files/"
    package static let defaultFileBytes = 1 << 20
    package static let defaultChunkBytes = 64 << 10

    package var mode: Mode
    package var fileBytes: Int
    package var chunkBytes: Int
    /// The file to serve; nil until the harness has made one.
    package var path: String?

    package init(_ workload: RunPlan.Workload) throws {
        guard let mode = Mode(WorkloadKind(rawValue: workload.name)) else { throw HarnessError.unknownWorkload(workload.name) }
        let o = WorkloadOptions(workload)
        self.mode = mode
        fileBytes = try o.bytes("file_size", Self.defaultFileBytes)
        chunkBytes = try o.bytes("chunk", Self.defaultChunkBytes)
        path = workload.options["file"]
    }

    /// The file's name, as `X-Accel-Redirect` names it under `accelLocation`.
    package var fileName: String { path.map { String($0.split(separator: "/").last ?? "") } ?? "" }

    /// The directory nginx serves `accelLocation` from.
    package var directory: String {
        guard let path, let slash = path.lastIndex(of: "/") else { return "/" }
        return String(path[..<slash])
    }
}
