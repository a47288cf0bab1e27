/// One sentence per run on what its workload did (uploads, downloads), and the findings stored in fields of their own.
extension Finding {
    /// What the run's uploads did: passed and failed, bytes written per byte, the temp dir (`tmpfs`: one the harness
    /// mounted), the predicted largest file and the first error.
    package static func uploads(workload: String, _ w: WorkloadFigures, tmpfs: Bool, firstError: String?) -> Finding {
        let size = Quantity.formatBytes(w[.uploadFileBytes] ?? 0)
        var text = "\(workload): \(Int(w[.uploadsPassed] ?? 0)) upload(s) of up to \(size) passed, "
            + "\(Int(w[.uploadsFailed] ?? 0)) failed"
        if let perByte = w[.bytesWrittenPerByte] { text += "; \(Quantity.format(perByte)) bytes written per byte uploaded" }
        if let capacity = w[.tmpCapacity], tmpfs {
            text += "; temp dir a \(Quantity.formatBytes(capacity)) tmpfs, peak use \(Quantity.formatBytes(w[.tmpUsedPeak] ?? 0))"
        }
        if let predicted = w[.predictedLargestFile] { text += "; predicted largest file \(Quantity.formatBytes(predicted))" }
        if let firstError { text += ". First error: \(firstError)" }
        return Finding(.uploads, text + ".")
    }

    /// What the run's downloads did: bytes served and their rate, CPU per GiB (to `secondsPerTick`, /proc's clock
    /// tick), descriptors, the downstream's connections and the errors by kind.
    package static func downloads(workload: String, _ w: WorkloadFigures, errorKinds: [String: Int], secondsPerTick tick: Double) -> Finding {
        var text = "\(workload): \(Quantity.formatBytes(w[.bytesServed] ?? 0)) served"
        if let rate = w[.bytesPerSecond] { text += " at \(Quantity.formatBytes(rate))/s" }
        if let cpu = w[.cpuSecondsPerGiB], let served = w[.bytesServed], served > 0 {
            text += ", \(Quantity.format(cpu)) CPU s per GiB"
            if let nginx = w[.nginxCPUSecondsPerGiB] { text += " (nginx \(Quantity.format(nginx)))" }
            // /proc counts CPU in clock ticks: say how coarse that makes a short run's figure.
            text += ", to \(Quantity.format(tick / (served / Double(1 << 30)))) s per GiB (one clock tick)"
        }
        if let fds = w[.fdsPeak] { text += "; peak \(Int(fds)) fds in the host" }
        if let c = w[.downstreamConnections], let calls = w[.downstreamCalls] {
            text += "; the downstream saw \(Int(c)) connection(s) for \(Int(calls)) call(s)"
            if let pool = w[.poolSize] { text += " (pool limit \(Int(pool)))" }
        }
        if !errorKinds.isEmpty {
            text += "; errors: " + errorKinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        }
        return Finding(.downloads, text + ".")
    }

    /// The arena census's sentence (kept in `arena_census.finding` too, where the report and terminal read it).
    package static func arenaCensus(_ census: ArenaCensusRecord) -> Finding { Finding(.arenaCensus, census.finding) }

    /// Who filled the temp dir, or the largest file held open (kept in `temp_dir_finding` too).
    package static func tempDirFiller(_ sentence: String) -> Finding { Finding(.tempDirFiller, sentence) }
}
