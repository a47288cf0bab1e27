import FoundationEssentials
import HighwaterAnalysis
import HighwaterRecords
import HighwaterSystem

/// Upload runs of known truth, for the report's upload charts: seed 001 in small. A spooled upload writes the
/// whole file to a temp dir of `tmpCapacity` bytes before copying it to its destination, so a file that does not
/// fit fails with ENOSPC; a streamed upload writes only the destination and passes every size.
extension SyntheticResults {
    package struct UploadSpec: Sendable {
        package var scenario: String
        package var config: String
        /// `upload-spooled` or `upload-streamed`.
        package var workload: String
        package var fileBytes: UInt64
        package var tmpCapacity: UInt64
        package var requests: Int
        package init(scenario: String, config: String, workload: String, fileBytes: UInt64, tmpCapacity: UInt64, requests: Int) {
            self.scenario = scenario; self.config = config; self.workload = workload
            self.fileBytes = fileBytes; self.tmpCapacity = tmpCapacity; self.requests = requests
        }

        var isSpooled: Bool { workload == WorkloadKind.uploadSpooled.rawValue }
        /// A spooled file needs its whole size in the temp dir; this model fills it exactly at capacity.
        var fits: Bool { !isSpooled || fileBytes < tmpCapacity }
    }

    /// Both workloads at every size, as `spooled-upload-enospc` sweeps them.
    package static func uploads(scenario: String, tmpCapacity: UInt64, sizes: [UInt64], requests: Int) -> [UploadSpec] {
        ["upload-spooled", "upload-streamed"].flatMap { workload in
            sizes.map { size in
                UploadSpec(scenario: scenario, config: "\(workload)-\(Quantity.formatBytes(size).filter { $0 != " " })", workload: workload,
                           fileBytes: size, tmpCapacity: tmpCapacity, requests: requests)
            }
        }
    }

    static func writeUploadRun(directory: String, spec: UploadSpec, runID: String) throws -> RunSummary {
        let runDir = directory + "/" + spec.scenario + "/" + runID
        try FileTree.createDirectory(runDir)
        let mib: UInt64 = 1 << 20
        let rss: UInt64 = 40 * mib
        // Receiving at 1 GiB/s; a spooled upload then copies the file once more at the same speed.
        let receiveNs = spec.fileBytes  // one nanosecond per byte
        let copyNs = spec.isSpooled && spec.fits ? spec.fileBytes : 0
        let sampleEveryNs: UInt64 = 10_000_000
        let t0: UInt64 = 2_000_000_000_000

        let requestsFile = try FileAppender(runDir + "/requests.jsonl")
        let samplesFile = try FileAppender(runDir + "/samples.jsonl")
        var line = JSONLine()
        var start = t0, peak: UInt64 = 0
        var latencies: [Double] = []
        for i in 0..<spec.requests {
            let end = start + receiveNs + copyNs
            let record = RequestRecord(i: i, config: spec.config, route: "/upload", tid: 20_000, worker: "hw-pool-0", start_ns: start, end_ns: end,
                                       status: spec.fits ? 200 : 507, rss_before: rss, rss_after: rss, heap_in_use_before: 0, heap_in_use_after: 0,
                                       error: spec.fits ? nil : "ENOSPC: no space left on device writing the spooled file")
            record.write(to: &line)
            try requestsFile.append(line.bytes)
            latencies.append(Double(end - start) / 1e6)
            // The temp dir fills while the body arrives and empties when the spooled file is removed.
            var t = start
            while t <= end + sampleEveryNs {
                let received = min(t >= start ? t - start : 0, receiveNs)
                let used = t > end || !spec.isSpooled ? 0 : min(received, spec.tmpCapacity)
                peak = max(peak, used)
                SampleRecord(t_ns: t, pid: 4343, rss: rss, rss_anon: rss - 8 * mib, rss_file: 8 * mib, rss_shmem: 0, vm_size: 4 * rss, vm_hwm: rss,
                             threads: 6, fds: 14, utime_ns: t - t0, stime_ns: (t - t0) / 4, tmp_used: used).write(to: &line)
                try samplesFile.append(line.bytes)
                t += sampleEveryNs
            }
            start = end + sampleEveryNs
        }
        try requestsFile.close()
        try samplesFile.close()

        let n = Double(spec.requests), size = Double(spec.fileBytes)
        let passed = spec.fits ? n : 0
        let toTemp = spec.isSpooled ? n * min(size, Double(spec.tmpCapacity)) : 0
        let toDestination = passed * size
        var s = RunSummary(scenario: spec.scenario, run_id: runID, config: spec.config)
        s.requests = spec.requests
        s.errors = spec.requests - Int(passed)
        s.rss_start = rss; s.rss_end = rss; s.rss_peak = rss; s.rss_steady = rss
        s.threads_max = 6
        s.latency_ms = Percentiles.of(latencies)
        s.throughput_rps = n / (Double(start - t0) / 1e9)
        s.child_exit = "exit 0"
        s.configuration = RunConfiguration(executor: "fixed 4", workload: spec.workload)
        var w = WorkloadFigures([
            .uploadFileBytes: size, .uploadsPassed: passed, .uploadsFailed: n - passed, .uploadsEnospc: n - passed,
            .bytesReceived: n * size, .bytesToTempDir: toTemp, .bytesToDestination: toDestination,
            .bytesWrittenPerByte: (toTemp + toDestination) / (n * size),
            .tmpCapacity: Double(spec.tmpCapacity), .tmpUsedPeak: Double(peak),
            .receiveMsP50: Double(receiveNs) / 1e6, .copyMsP50: Double(copyNs) / 1e6,
        ])
        if spec.isSpooled { w[.predictedLargestFile] = Double(spec.tmpCapacity) }
        s.workload = w
        try FileTree.writeAtomically(try RecordCoding.document(s), to: runDir + "/summary.json")
        return s
    }
}
