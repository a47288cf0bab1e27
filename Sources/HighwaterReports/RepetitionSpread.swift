import HighwaterRecords

/// The spread of a scenario's repeated configurations (`repeat:`, run A B A B): each figure as its median and
/// range over the repetitions, and each configuration's p50 against that of the first configuration under the
/// same load (concurrency, requests, upload size) in the same repetition, so a ratio comes with its noise.
package struct RepetitionSpread: Sendable {
    /// The median and the extremes of one figure over the repetitions.
    package struct Range: Sendable, Equatable {
        package var median: Double
        package var low: Double
        package var high: Double

        init?(_ values: [Double]) {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            let mid = sorted.count / 2
            median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
            low = sorted.first!
            high = sorted.last!
        }
    }

    package struct Row: Sendable {
        package var config: String
        package var repetitions: Int
        package var p50Ms: Range
        package var throughput: Range
        /// The first configuration under the same load, which this one is compared with; nil for that one itself.
        package var baseline: String?
        /// This configuration's p50 over the baseline's, repetition by repetition.
        package var p50AgainstBaseline: Range?
    }

    package var rows: [Row]

    /// Runs compare only under the same load, as the scenario ordered them (`RunPlan.Load.identity`); results
    /// written before summaries carried it fall back to the concurrency, request count and upload size.
    static func load(of s: RunSummary) -> String {
        let c = s.configuration ?? RunConfiguration()
        if let load = c.load { return load }
        return [c.concurrency.map { String($0) } ?? "?", c.requests.map { String($0) } ?? "?", s.workload?[.uploadFileBytes].map { String(UInt64($0)) } ?? "-"]
            .joined(separator: "/")
    }

    /// The spread of a scenario's runs, when any configuration ran more than once.
    package init?(_ runs: [ReportModel.Run]) { self.init(summaries: runs.map(\.summary)) }

    package init?(summaries: [RunSummary]) {
        let repeated = summaries.filter { $0.repetition != nil && $0.growth.classification.hasData }
        var order: [String] = []
        var byConfig: [String: [RunSummary]] = [:]
        for s in repeated {
            if byConfig[s.config] == nil { order.append(s.config) }
            byConfig[s.config, default: []].append(s)
        }
        guard byConfig.values.contains(where: { $0.count > 1 }) else { return nil }
        var baselines: [String: String] = [:]
        for config in order where baselines[Self.load(of: byConfig[config]![0])] == nil {
            baselines[Self.load(of: byConfig[config]![0])] = config
        }
        rows = order.compactMap { config in
            let runs = byConfig[config]!
            guard let p50 = Range(runs.map(\.latency_ms.p50)), let throughput = Range(runs.map(\.throughput_rps)) else { return nil }
            let baseline = baselines[Self.load(of: runs[0])].flatMap { $0 == config ? nil : $0 }
            let baseP50 = Dictionary((baseline.flatMap { byConfig[$0] } ?? []).map { ($0.repetition!, $0.latency_ms.p50) },
                                     uniquingKeysWith: { a, _ in a })
            let ratios = runs.compactMap { run -> Double? in
                guard let base = baseP50[run.repetition!], base > 0 else { return nil }
                return run.latency_ms.p50 / base
            }
            return Row(config: config, repetitions: runs.count, p50Ms: p50, throughput: throughput,
                       baseline: baseline, p50AgainstBaseline: Range(ratios))
        }
    }
}

extension RepetitionSpread.Range {
    /// `150 (134–176)`, or the one value when there is no spread.
    package func text(_ format: (Double) -> String) -> String {
        low == high ? format(median) : "\(format(median)) (\(format(low))–\(format(high)))"
    }
}
