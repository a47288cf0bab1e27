@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import HighwaterWorkloads

/// What a download or downstream run adds to its summary (the `workload` fields of `summary.json`): bytes served
/// per second, CPU seconds per GiB served (user and system, host and nginx), peak descriptors, nginx's own memory,
/// connections the downstream saw, and errors by kind.
package enum DownloadFigures {
    /// The readings of one run that the records do not hold.
    package struct Readings: Sendable {
        package var load: LoadDriver.Result
        package var hostCPU: ProcessCPU
        package var nginxCPU: ProcessCPU?
        package var nginxSamples: [SampleRecord] = []
        package var downstream: DownstreamService.Counts?
        package init(load: LoadDriver.Result, hostCPU: ProcessCPU, nginxCPU: ProcessCPU? = nil) {
            self.load = load; self.hostCPU = hostCPU; self.nginxCPU = nginxCPU
        }
    }

    static let gib = Double(1 << 30)

    package static func add(to summary: inout RunSummary, plan: RunPlan, readings r: Readings, requests: [RequestRecord],
                           samples: [SampleRecord]) {
        var w = summary.workload ?? WorkloadFigures()
        let bytes = Double(r.load.bytesReceived)
        w[.bytesServed] = bytes
        if r.load.wallNs > 0 { w[.bytesPerSecond] = bytes / (Double(r.load.wallNs) / 1e9) }
        let cpu = r.hostCPU.totalNs + (r.nginxCPU?.totalNs ?? 0)
        w[.hostCPUSeconds] = Double(r.hostCPU.totalNs) / 1e9
        if bytes > 0 {
            let perGiB = { (ns: UInt64) in Double(ns) / 1e9 / (bytes / gib) }
            w[.cpuSecondsPerGiB] = perGiB(cpu)
            w[.userCPUSecondsPerGiB] = perGiB(r.hostCPU.userNs + (r.nginxCPU?.userNs ?? 0))
            w[.systemCPUSecondsPerGiB] = perGiB(r.hostCPU.systemNs + (r.nginxCPU?.systemNs ?? 0))
            w[.hostCPUSecondsPerGiB] = perGiB(r.hostCPU.totalNs)
            if let nginx = r.nginxCPU { w[.nginxCPUSecondsPerGiB] = perGiB(nginx.totalNs) }
        }
        if let fds = samples.map(\.fds).max() { w[.fdsPeak] = Double(fds) }
        if r.nginxCPU != nil {
            if let fds = r.nginxSamples.map(\.fds).max() { w[.nginxFdsPeak] = Double(fds) }
            if let rss = r.nginxSamples.map(\.rss).max() { w[.nginxRSSPeakBytes] = Double(rss) }
        }
        for (kind, n) in r.load.errorKinds { w[.errors(kind: kind)] = Double(n) }
        if plan.isDownload, let download = try? DownloadWorkload(plan.workload) { w[.fileBytes] = Double(download.fileBytes) }
        if let counts = r.downstream {
            w[.downstreamConnections] = Double(counts.connectionsOpened)
            w[.downstreamConnectionsPeak] = Double(counts.connectionsPeak)
            w[.downstreamCalls] = Double(counts.requests)
            if counts.requests > 0 { w[.downstreamConnectionsPerCall] = Double(counts.connectionsOpened) / Double(counts.requests) }
            if let downstream = try? DownstreamWorkload(plan.workload) {
                if downstream.mode == .shared { w[.poolSize] = Double(downstream.poolSize) }
                w[.idleTimeoutSeconds] = Double(downstream.idleTimeoutNs) / 1e9
            }
            // The host's view: each failed call recorded with its kind ("downstream timeout: …").
            for kind in ConnectionErrorKind.allCases {
                let n = requests.filter { $0.error?.hasPrefix("downstream \(kind.rawValue)") == true }.count
                if n > 0 { w[.downstreamErrors(kind: kind.rawValue)] = Double(n) }
            }
        }
        summary.workload = w
        // What the harness filled in (the generated file, the service it started) is not the user's configuration.
        if summary.configuration?.workloadOptions["file"]?.contains("/highwater-files-") == true { summary.configuration?.workloadOptions["file"] = nil }
        summary.configuration?.workloadOptions["downstream_url"] = nil
        summary.note(.downloads(workload: plan.workload.name, w, errorKinds: r.load.errorKinds,
                                secondsPerTick: 1 / Double(SystemFacts.clockTicksPerSecond)))
        if plan.workload.name == WorkloadKind.downstreamPerRequest.rawValue, let idle = w[.idleTimeoutSeconds],
           Double(r.load.wallNs) / 1e9 < idle {
            // What this run measured per call: the live heap where the allocator probe applies, RSS otherwise.
            let e = summary.growth.evidence
            let perCall = e.flatMap { e in e.heap_growth_bytes.map { Double($0) / Double(max(1, e.requests_counted)) } }
            summary.note(.idleTimeoutPending(idleSeconds: idle, loadSeconds: Double(r.load.wallNs) / 1e9, heapPerCall: perCall,
                                             rssPerCall: summary.growth.slope_bytes_per_request))
        }
    }

    /// Adds how a sendfile or accel run compares with the chunked run of the same file size and concurrency in this
    /// session (`throughput_vs_chunked`, `cpu_per_gib_vs_chunked`): ratios measured in one `run`.
    package static func compare(_ summary: inout RunSummary, with earlier: [RunSummary]) {
        guard let c = summary.configuration, let name = c.workload, WorkloadKind.family(named: name) == .download,
              name != WorkloadKind.downloadChunked.rawValue, var w = summary.workload else { return }
        guard let chunked = earlier.last(where: {
            $0.scenario == summary.scenario && $0.configuration?.workload == WorkloadKind.downloadChunked.rawValue
                && $0.configuration?.workloadOptions["file_size"] == c.workloadOptions["file_size"]
                && $0.configuration?.concurrency == c.concurrency
        }), let base = chunked.workload else { return }
        if let a = w[.bytesPerSecond], let b = base[.bytesPerSecond], b > 0 { w[.throughputVsChunked] = a / b }
        if let a = w[.cpuSecondsPerGiB], let b = base[.cpuSecondsPerGiB], b > 0 { w[.cpuPerGiBVsChunked] = a / b }
        summary.workload = w
        if let t = w[.throughputVsChunked], let cpu = w[.cpuPerGiBVsChunked] {
            summary.note(.againstChunked(chunked.config, throughput: t, cpu: cpu))
        }
    }
}
