import HighwaterRecords

/// Every configuration of a scenario on one chart: RSS over requests (and over time), one labelled line each, its
/// verdict, threads and arenas in the legend and on hover. The one picture where a pool's growth stands against a
/// bounded one's.
enum OverlayChart {
    /// Buckets per configuration: a scenario of 14 configurations stays a few tens of kilobytes.
    static let buckets = 150

    static func label(_ run: ReportModel.Run) -> String {
        "\(run.summary.config): \(run.diagnosis.verdict), \(run.summary.threads_max) threads, \(run.facts.arenas) arenas"
    }

    static func style(_ k: Int, palette: [String]) -> (color: String, dashed: Bool) {
        (palette[k % palette.count], (k / palette.count) % 2 == 1)
    }

    /// The two overlays of a scenario; empty when no run has requests or samples.
    static func svgs(_ scenario: ReportModel.Scenario, palette: [String]) -> String {
        var byRequest: [ChartSeries] = [], byTime: [ChartSeries] = []
        for (k, run) in scenario.runs.enumerated() {
            let (color, dashed) = style(k, palette: palette)
            let r = run.data.requests, samples = run.data.samples
            if r.count > 0 {
                byRequest.append(ChartSeries(label(run), color: color, points: r.rssAfter.withUnsafeBufferPointer { b in
                    Downsample.minMax(count: b.count, buckets: buckets, x: { Double($0) }, y: { Double(b[$0]) })
                }, dashed: dashed))
            }
            if samples.count > 1 {
                byTime.append(HTMLReport.timeline(label(run), samples.rss, samples: samples, color: color, buckets: buckets, dashed: dashed))
            }
        }
        var h = ""
        if !byRequest.isEmpty {
            var chart = LineChart(title: "\(scenario.name): RSS over requests, every configuration", x: ChartAxis("request (i, in completion order)", .count),
                                  left: ChartAxis("RSS after request", .bytes), series: byRequest)
            chart.cssClass = "chart overlay"
            h += chart.svg()
        }
        if !byTime.isEmpty {
            var chart = LineChart(title: "\(scenario.name): RSS over time, every configuration", x: ChartAxis("time since the run's first sample", .seconds),
                                  left: ChartAxis("RSS", .bytes), series: byTime)
            chart.cssClass = "chart overlay"
            h += chart.svg()
        }
        return h
    }
}
