import HighwaterRecords

/// A field of a run's summary that an expectation can test, with the unit its number is in.
package struct SummaryField: Sendable {
    package enum Dimension: Sendable, Equatable {
        case bytes
        /// Stored in milliseconds (`latency_ms`).
        case milliseconds
        case count
        case rate
        /// Compared as words (`growth.classification == plateau`).
        case word([String]?)
        /// A number in a unit only the workload knows; sizes with units become bytes.
        case workloadNumber

        /// How a workload figure is compared: sizes and latencies take their units, counts none.
        init(_ unit: FigureUnit) {
            switch unit {
            case .bytes: self = .bytes
            case .milliseconds: self = .milliseconds
            case .count: self = .count
            case .bytesPerSecond, .seconds, .secondsPerGiB, .share, .ratio, .factor, .statusCode, .number: self = .workloadNumber
            }
        }
    }

    package enum Observed: Sendable, Equatable {
        case number(Double)
        case word(String)
    }

    package var path: String
    package var dimension: Dimension
    let read: @Sendable (RunSummary) -> Observed?

    static func number<T: BinaryInteger>(_ v: T?) -> Observed? { v.map { .number(Double($0)) } }
    static func number(_ v: Double?) -> Observed? { v.map { .number($0) } }

    package static let all: [SummaryField] = [
        .init(path: "requests", dimension: .count) { number($0.requests) },
        .init(path: "errors", dimension: .count) { number($0.errors) },
        .init(path: "rss_start", dimension: .bytes) { number($0.rss_start) },
        .init(path: "rss_end", dimension: .bytes) { number($0.rss_end) },
        .init(path: "rss_peak", dimension: .bytes) { number($0.rss_peak) },
        .init(path: "rss_growth", dimension: .bytes) { number($0.rss_growth) },
        .init(path: "rss_steady", dimension: .bytes) { number($0.rss_steady) },
        .init(path: "threads_max", dimension: .count) { number($0.threads_max) },
        .init(path: "arenas_max", dimension: .count) { number($0.arenas_max) },
        .init(path: "growth.classification", dimension: .word(GrowthClass.allCases.map(\.rawValue))) { .word($0.growth.classification.rawValue) },
        .init(path: "growth.slope_bytes_per_request", dimension: .bytes) { number($0.growth.slope_bytes_per_request) },
        .init(path: "growth.first_plateau_request", dimension: .count) { number($0.growth.first_plateau_request) },
        .init(path: "latency_ms.p50", dimension: .milliseconds) { number($0.latency_ms.p50) },
        .init(path: "latency_ms.p90", dimension: .milliseconds) { number($0.latency_ms.p90) },
        .init(path: "latency_ms.p99", dimension: .milliseconds) { number($0.latency_ms.p99) },
        .init(path: "latency_ms.max", dimension: .milliseconds) { number($0.latency_ms.max) },
        .init(path: "throughput_rps", dimension: .rate) { number($0.throughput_rps) },
        .init(path: "worker_threads", dimension: .count) { number($0.worker_threads) },
        .init(path: "plateau_threads", dimension: .count) { number($0.plateau_threads) },
        .init(path: "plateau_arenas", dimension: .count) { number($0.plateau_arenas) },
        .init(path: "growth_per_thread", dimension: .bytes) { number($0.growth_per_thread) },
        .init(path: "first_on_thread_requests", dimension: .count) { number($0.first_on_thread_requests) },
        .init(path: "rss_delta_first_on_thread", dimension: .bytes) { number($0.rss_delta_first_on_thread) },
        .init(path: "rss_delta_other", dimension: .bytes) { number($0.rss_delta_other) },
        .init(path: "child_exit", dimension: .word(nil)) { $0.child_exit.map { .word($0) } },
    ]

    /// Short names people write: `p99`, `classification`, `slope`.
    static let aliases: [String: String] = [
        "p50": "latency_ms.p50", "p90": "latency_ms.p90", "p99": "latency_ms.p99", "max_latency": "latency_ms.max",
        "latency.p50": "latency_ms.p50", "latency.p90": "latency_ms.p90", "latency.p99": "latency_ms.p99", "latency.max": "latency_ms.max",
        "classification": "growth.classification", "slope": "growth.slope_bytes_per_request",
        "first_plateau_request": "growth.first_plateau_request", "throughput": "throughput_rps",
    ]

    /// The field a written name means, `workload.NAME` included; nil when unknown.
    package static func lookup(_ written: String) -> SummaryField? {
        let path = aliases[written] ?? written
        if let field = all.first(where: { $0.path == path }) { return field }
        if path.hasPrefix("workload."), path.count > "workload.".count {
            let figure = WorkloadFigure(name: String(path.dropFirst("workload.".count)))
            return SummaryField(path: path, dimension: Dimension(figure.unit)) { run in run.workload?[figure].map { .number($0) } }
        }
        return nil
    }

    static var knownNames: [String] { all.map(\.path) + aliases.keys.sorted() }

    /// An observed number in the field's own unit as a person reads it.
    func format(_ observed: Observed) -> String {
        switch observed {
        case .word(let w): return w
        case .number(let x):
            switch dimension {
            case .bytes: return Quantity.formatBytes(x)
            case .milliseconds: return Quantity.formatDuration(nanoseconds: x * 1e6)
            case .rate: return Quantity.format(x) + " rps"
            case .count, .word, .workloadNumber: return x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : Quantity.format(x)
            }
        }
    }
}
