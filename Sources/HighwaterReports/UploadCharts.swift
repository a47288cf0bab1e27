import HighwaterRecords

/// The upload part of a scenario's page: where uploads start failing by size, the temp dir filling against its
/// capacity, and what each configuration costs in writes and latency.
extension HTMLReport {
    static func uploadSection(_ uploads: UploadOutcomes, runs: [ReportModel.Run]) -> String {
        // The sentences stand with the diagnoses at the top of the section; these are the pictures behind them.
        var h = "<h3>Uploads: pass or fail by size</h3>"
        h += boundaryChart(uploads)
        h += tmpUsedChart(uploads, runs: runs)
        h += costCharts(uploads)
        return h
    }

    static func boundaryChart(_ uploads: UploadOutcomes) -> String {
        let rows = uploads.boundaries.map { b in
            BoundaryChart.Row(label: b.workload, points: uploads.attempts.filter { $0.workload == b.workload }.compactMap { a in
                a.fileBytes.map { (x: $0, passed: a.passed, title: "\(a.config): \(Quantity.formatBytes($0)) \(a.passed ? "passed" : "failed")") }
            })
        }
        guard rows.contains(where: { !$0.points.isEmpty }) else { return "" }
        var markers: [ChartMarker] = []
        for b in uploads.boundaries {
            guard let predicted = b.predicted, !markers.contains(where: { $0.value == predicted }) else { continue }
            markers.append(ChartMarker(.vertical, at: predicted, label: "predicted boundary \(Quantity.formatBytes(predicted)) (\(b.workload))"))
        }
        return BoundaryChart(title: "Pass or fail by file size", x: ChartAxis("file size", .bytes), rows: rows, markers: markers).svg()
    }

    /// Every upload run's temp dir use over its own time, against the capacity as a limit line.
    static func tmpUsedChart(_ uploads: UploadOutcomes, runs: [ReportModel.Run]) -> String {
        let configs = Set(uploads.attempts.map(\.config))
        let sampled = runs.filter { configs.contains($0.summary.config) && $0.data.samples.tmpUsed != nil && $0.data.samples.count > 1 }
        // Runs that never wrote to the temp dir would be flat lines on zero; they are named instead.
        let watched = sampled.filter { $0.data.samples.tmpUsed!.contains { $0 > 0 } }
        let idle = sampled.filter { run in !watched.contains { $0.summary.config == run.summary.config } }.map(\.summary.config)
        let note = idle.isEmpty ? "" : "<p class=\"meta\">Never used the temp dir: \(idle.map(Markup.escape).joined(separator: ", ")).</p>"
        guard !watched.isEmpty else { return note }
        let series = watched.enumerated().map { k, run in
            timeline(run.summary.config, run.data.samples.tmpUsed!, samples: run.data.samples, color: palette[k % palette.count], buckets: OverlayChart.buckets)
        }
        var markers: [ChartMarker] = []
        for capacity in uploads.attempts.compactMap(\.tmpCapacity) where !markers.contains(where: { $0.value == capacity }) {
            markers.append(ChartMarker(.horizontal, at: capacity, label: "tmpfs capacity \(Quantity.formatBytes(capacity))"))
        }
        return LineChart(title: "Temp dir used during uploads", x: ChartAxis("time since the run's first sample", .seconds),
                         left: ChartAxis("temp dir used", .bytes), series: series, markers: markers).svg() + note
    }

    /// Bytes written per byte uploaded beside the median latency, per configuration: spooling writes twice.
    static func costCharts(_ uploads: UploadOutcomes) -> String {
        func color(_ a: UploadOutcomes.Attempt) -> String { palette[(WorkloadKind.names(of: .upload).firstIndex(of: a.workload) ?? 0) * 2 % palette.count] }
        let written = uploads.attempts.compactMap { a in a.bytesWrittenPerByte.map { (label: a.config, value: $0, color: color(a)) } }
        var h = "<div class=\"multiples\">"
        if !written.isEmpty { h += BarChart(title: "Bytes written per byte uploaded", unit: .plain, bars: written).svg() }
        h += BarChart(title: "Latency p50", unit: .milliseconds, bars: uploads.attempts.map { (label: $0.config, value: $0.latencyP50Ms, color: color($0)) }).svg()
        return h + "</div>"
    }
}
