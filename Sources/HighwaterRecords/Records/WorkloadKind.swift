/// The built-in workloads, listed here once with the family each belongs to: scenarios validate names against it,
/// the host's registry (`BuiltInWorkloads`) makes each family's routes, and the run and the report ask a workload's
/// family rather than keep lists of names.
package enum WorkloadKind: String, CaseIterable, Codable, Sendable {
    case allocChurn = "alloc-churn"
    case leak
    case sleep
    case cpu
    case uploadSpooled = "upload-spooled"
    case uploadStreamed = "upload-streamed"
    case downloadChunked = "download-chunked"
    case downloadSendfile = "download-sendfile"
    case downloadAccel = "download-accel"
    case downstreamShared = "downstream-shared"
    case downstreamPerRequest = "downstream-per-request"

    /// What a workload does to the host, and so which companions, storage and figures its runs have.
    package enum Family: Sendable {
        /// Memory and CPU work inside the handler (alloc-churn, leak, sleep, cpu).
        case compute
        /// A request body received into a temp dir or a destination (seed 001, 002).
        case upload
        /// A file served back (chunked reads, sendfile, nginx's X-Accel-Redirect).
        case download
        /// A call to a downstream service from inside the handler (seed 003).
        case downstream
    }

    package var family: Family {
        switch self {
        case .allocChurn, .leak, .sleep, .cpu: .compute
        case .uploadSpooled, .uploadStreamed: .upload
        case .downloadChunked, .downloadSendfile, .downloadAccel: .download
        case .downstreamShared, .downstreamPerRequest: .downstream
        }
    }

    /// The names of one family's workloads, in their listed order.
    package static func names(of family: Family) -> [String] {
        allCases.filter { $0.family == family }.map(\.rawValue)
    }

    /// The family of a workload named in a summary's configuration; nil for a user's own handler or an unknown name.
    package static func family(named name: String?) -> Family? {
        name.flatMap(WorkloadKind.init(rawValue:))?.family
    }
}
