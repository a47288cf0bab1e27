import HighwaterProbes
import HighwaterScenarios
import Prometheus

/// The series of the machine rather than of one process: the watched directory's filesystem, each limit of a
/// limits file against its live figure, and how many processes are watched. Set by `watch`'s own loop.
final class HostGauges {
    private struct Limit {
        let outcome: LimitOutcome
        let used: Gauge
        let headroom: Gauge
        let holds: Gauge
    }

    private let watchDir: String?
    private let dirUsed: Gauge?
    private let dirCapacity: Gauge?
    private let limits: [Limit]
    /// The temp dir a limits file names, read for its temp-dir limits (else the watched directory).
    private let limitsTempDir: String?
    private let targets: Gauge

    init(registry: PrometheusCollectorRegistry, host: String, watchDir: String?, limits: (service: ServiceLimits, outcomes: [LimitOutcome])?) {
        self.watchDir = watchDir
        let dirLabels = [("dir", watchDir ?? ""), ("host", host)]
        dirUsed = watchDir.map { _ in registry.makeGauge(descriptor: WatchMetric.dirUsed.descriptor, labels: dirLabels) }
        dirCapacity = watchDir.map { _ in registry.makeGauge(descriptor: WatchMetric.dirCapacity.descriptor, labels: dirLabels) }
        limitsTempDir = limits?.service.tempDir ?? watchDir
        self.limits = (limits?.outcomes ?? []).map { outcome in
            let labels = [("limit", outcome.name), ("resource", outcome.resource.rawValue), ("service", limits!.service.service), ("host", host)]
            registry.makeGauge(descriptor: WatchMetric.limitCapacity.descriptor, labels: labels).set(Double(outcome.capacity))
            registry.makeGauge(descriptor: WatchMetric.limitWorstCase.descriptor, labels: labels).set(Double(outcome.worstCase))
            return Limit(outcome: outcome,
                         used: registry.makeGauge(descriptor: WatchMetric.limitUsed.descriptor, labels: labels),
                         headroom: registry.makeGauge(descriptor: WatchMetric.limitHeadroom.descriptor, labels: labels),
                         holds: registry.makeGauge(descriptor: WatchMetric.limitHolds.descriptor, labels: labels))
        }
        targets = registry.makeGauge(descriptor: WatchMetric.targets.descriptor, labels: [("host", host)])
    }

    /// - Parameter resident: the watched processes' resident bytes, summed: what counts against a memory limit.
    func update(resident: UInt64, targets count: Int) {
        targets.set(Double(count))
        if let watchDir, let usage = try? FilesystemProbe.usage(of: watchDir) {
            dirUsed?.set(Double(usage.used))
            dirCapacity?.set(Double(usage.capacity))
        }
        let tempUsed = limitsTempDir.flatMap { try? FilesystemProbe.used(of: $0) }
        for limit in limits {
            let used: UInt64?
            switch limit.outcome.resource {
            case .memory: used = resident
            case .tempDir: used = tempUsed
            }
            guard let used else { continue }
            limit.used.set(Double(used))
            limit.headroom.set(Double(limit.outcome.capacity) - Double(used))
            limit.holds.set(used <= limit.outcome.capacity && limit.outcome.passed ? 1.0 : 0.0)
        }
    }
}
