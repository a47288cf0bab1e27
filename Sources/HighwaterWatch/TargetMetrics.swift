import HighwaterProbes
import HighwaterRecords
import Prometheus
import Synchronization

/// One watched process's series: a `SampleSink` of its `Sampler` that sets them from each sample. When the process
/// ends they are unregistered, so they vanish from the next scrape and Prometheus marks them stale rather than
/// keeping a last value or reading a zero.
final class TargetMetrics: SampleSink, @unchecked Sendable {
    let target: WatchedProcess
    private let registry: PrometheusCollectorRegistry
    private let labels: [(String, String)]
    private let deletedFiles: HeldDeletedFiles?
    /// Touched on the sampling thread, and by `unregister` once that thread has joined.
    private var gauges: [GaugeKey: Gauge] = [:]
    private var cpu: Counter?
    private var lastCPUNs: UInt64?
    private let lock = Mutex(())

    private struct GaugeKey: Hashable {
        var metric: WatchMetric
        var kind: String?
    }

    init(target: WatchedProcess, host: String, registry: PrometheusCollectorRegistry, deletedFiles: HeldDeletedFiles?) {
        self.target = target
        self.registry = registry
        self.deletedFiles = deletedFiles
        labels = [("pid", String(target.pid)), ("command", target.command), ("host", host)]
        set(.arenaLimit, Double(target.arenaLimit))
    }

    func take(_ record: SampleRecord) {
        lock.withLock { _ in
            set(.residentBytes, record.rss)
            set(.virtualBytes, record.vm_size)
            set(.openFDs, record.fds)
            set(.residentPeak, record.vm_hwm)
            set(.threads, record.threads)
            set(.residentByKind, record.rss_anon, kind: "anon")
            set(.residentByKind, record.rss_file, kind: "file")
            set(.residentByKind, record.rss_shmem, kind: "shmem")
            if let v = record.arenas { set(.arenas, v) }
            if let v = record.arena_heap_resident { set(.arenaHeapResident, v) }
            if let v = record.main_heap_resident { set(.mainHeapResident, v) }
            if let v = record.heap_in_use { set(.heapLive, v) }
            if let v = record.heap_free { set(.heapFree, v) }
            if let v = record.heap_system { set(.heapSystem, v) }
            if let deletedFiles { set(.deletedHeldLargest, deletedFiles.largest(pid: target.pid)) }
            let cpuNs = record.utime_ns &+ record.stime_ns
            let counter = cpu ?? registry.makeCounter(descriptor: WatchMetric.cpuSeconds.descriptor, labels: labels)
            cpu = counter
            // A counter only rises: the first sample adds all the CPU time so far, each later one what it added.
            if cpuNs >= lastCPUNs ?? 0 { counter.increment(by: Double(cpuNs - (lastCPUNs ?? 0)) / 1e9) }
            lastCPUNs = cpuNs
        }
    }

    func finish() {}

    /// The process's series leave the registry: absent from the next scrape, so stale in Prometheus.
    func unregister() {
        lock.withLock { _ in
            for gauge in gauges.values { registry.unregisterGauge(gauge) }
            gauges.removeAll()
            if let cpu { registry.unregisterCounter(cpu) }
            cpu = nil
        }
    }

    private func set(_ metric: WatchMetric, _ value: UInt64, kind: String? = nil) {
        set(metric, Double(value), kind: kind)
    }

    private func set(_ metric: WatchMetric, _ value: Double, kind: String? = nil) {
        let key = GaugeKey(metric: metric, kind: kind)
        if let gauge = gauges[key] { gauge.set(value); return }
        let gauge = registry.makeGauge(descriptor: metric.descriptor, labels: labels + (kind.map { [("kind", $0)] } ?? []))
        gauges[key] = gauge
        gauge.set(value)
    }
}
