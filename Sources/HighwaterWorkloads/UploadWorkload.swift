import HighwaterRecords
import HighwaterProbes
import HighwaterUploads
import HighwaterSystem
import HighwaterHost

/// The upload handlers of seeds 000-002 as the host serves them: Starlette's `UploadFile` (spool, then copy to the
/// destination) or the fix (stream the file part straight to the destination).
///
/// Options: `encoding` (multipart or raw: how the load driver sends the file), `max_file` and `max_body` (413 past
/// them), `keep_files` (leave the uploaded files in the destination; by default each is removed once answered, so a
/// long run measures the temp dir, not a destination filling up).
package struct UploadWorkload: Sendable {
    package enum Encoding: String, CaseIterable, Sendable {
        case multipart
        case raw
    }

    package var mode: UploadMode
    package var destinationDirectory: String
    package var limits: UploadLimits
    package var encoding: Encoding
    package var keepFiles: Bool

    package init(plan: RunPlan) throws {
        let o = WorkloadOptions(plan.workload)
        let storage = plan.storage
        switch WorkloadKind(rawValue: plan.workload.name) {
        case .uploadSpooled:
            let tempDir = storage.tempDir ?? TempDirectory.resolve(environment: ProcessEnvironment.current).path
            let threshold = storage.spoolThreshold.map { Int($0) } ?? SpooledFile.defaultThreshold
            mode = .spooled(threshold: threshold, tempDir: tempDir)
        case .uploadStreamed:
            mode = .streamed
        default:
            throw HarnessError.unknownWorkload(plan.workload.name)
        }
        guard let destination = storage.destinationDir else {
            throw HarnessError.badOption(workload: plan.workload.name, option: "storage.destination_dir", value: "unset",
                                         expected: "a directory for the uploaded files")
        }
        destinationDirectory = destination
        limits = UploadLimits(maxFileBytes: try o.optionalBytes("max_file"), maxBodyBytes: try o.optionalBytes("max_body"))
        encoding = Encoding(rawValue: try o.choice("encoding", Encoding.allCases.map(\.rawValue)))!
        keepFiles = try o.flag("keep_files", false)
    }

    /// The temp dir a spooled upload writes to; nil when streamed.
    package var tempDirectory: String? {
        if case .spooled(_, let dir) = mode { dir } else { nil }
    }
}
