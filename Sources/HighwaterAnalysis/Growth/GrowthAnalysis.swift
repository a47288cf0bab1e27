import HighwaterRecords
/// The verdict on one run's RSS series, request by request.
public struct GrowthVerdict: Equatable, Sendable {
    public var classification: GrowthClass
    /// Least-squares slope over the last half of the requests, bytes per request.
    public var slopeBytesPerRequest: Double
    /// Position in the series from which RSS stayed at its final level (plateau runs only).
    public var plateauIndex: Int?
    /// RSS after the warm-up.
    public var baseline: UInt64
    /// Median RSS over the last tenth: the level it settled at.
    public var steady: UInt64
    /// RSS at the end minus the baseline.
    public var growth: Int64
}

/// Pure arithmetic over RSS series: classification, slope, plateau point. Unit-tested in isolation.
public enum GrowthAnalysis {
    public struct Thresholds: Sendable, Equatable {
        /// Growth from the baseline to the steady level at or below this is `stable`.
        public var stableBytes: UInt64 = 4 << 20
        /// A run whose last half still carries more than this share of its total growth is `linear`.
        public var linearShare: Double = 0.25
        /// How close to the steady level (as a share of the growth) counts as having arrived.
        public var plateauBand: Double = 0.05
        public init() {}
    }

    /// - Parameters:
    ///   - rss: RSS after each request, in completion order.
    ///   - warmup: requests whose growth does not count (the first request by default).
    public static func verdict(rss: [UInt64], warmup: Int = 1, thresholds: Thresholds = .init()) -> GrowthVerdict {
        guard !rss.isEmpty else {
            return GrowthVerdict(classification: .stable, slopeBytesPerRequest: 0, plateauIndex: nil, baseline: 0, steady: 0, growth: 0)
        }
        let w = min(max(warmup, 0), rss.count - 1)
        let baseline = rss[max(w - 1, 0)]
        let end = rss[rss.count - 1]
        let tail = rss[(rss.count - max(1, rss.count / 10))...]
        let steady = median(tail)
        let counted = rss[w...]
        let lastHalf = counted[(counted.startIndex + counted.count / 2)...]
        let slope = leastSquaresSlope(lastHalf.map { Double($0) })
        let growth = Int64(bitPattern: end &- baseline)
        let toSteady = Double(steady) - Double(baseline)

        var verdict = GrowthVerdict(classification: .stable, slopeBytesPerRequest: slope, plateauIndex: nil,
                                    baseline: baseline, steady: steady, growth: growth)
        guard toSteady > Double(thresholds.stableBytes) else { return verdict }
        let lastHalfGrowth = slope * Double(lastHalf.count)
        if lastHalfGrowth > thresholds.linearShare * toSteady {
            verdict.classification = .linear
            return verdict
        }
        verdict.classification = .plateau
        let floor = Double(steady) - thresholds.plateauBand * toSteady
        // The plateau starts after the last request that was still below the final level.
        var index = w
        for j in stride(from: rss.count - 1, through: w, by: -1) where Double(rss[j]) < floor {
            index = j + 1
            break
        }
        verdict.plateauIndex = min(index, rss.count - 1)
        return verdict
    }

    /// Slope of y over its index, by least squares; 0 for fewer than two points.
    public static func leastSquaresSlope(_ ys: [Double]) -> Double {
        let n = Double(ys.count)
        guard ys.count >= 2 else { return 0 }
        let meanX = (n - 1) / 2
        let meanY = ys.reduce(0, +) / n
        var num = 0.0, den = 0.0
        for (i, y) in ys.enumerated() {
            let dx = Double(i) - meanX
            num += dx * (y - meanY)
            den += dx * dx
        }
        return den == 0 ? 0 : num / den
    }

    public static func median<C: Collection>(_ values: C) -> UInt64 where C.Element == UInt64 {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[sorted.count / 2]
    }
}

/// Latency percentiles by nearest rank.
public enum Percentiles {
    public static func of(_ values: [Double]) -> RunSummary.Latency {
        guard !values.isEmpty else { return .zero }
        let sorted = values.sorted()
        func rank(_ p: Double) -> Double {
            let k = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(max(k, 0), sorted.count - 1)]
        }
        return RunSummary.Latency(p50: rank(50), p90: rank(90), p99: rank(99), max: sorted[sorted.count - 1])
    }
}
