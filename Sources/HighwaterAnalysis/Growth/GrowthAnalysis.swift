import HighwaterRecords

/// The verdict on one run's RSS series, request by request, with the evidence it rests on.
package struct GrowthVerdict: Equatable, Sendable {
    package var classification: GrowthClass
    /// Least-squares slope over the counted requests, bytes per request.
    package var slopeBytesPerRequest: Double
    /// Position in the series from which RSS stayed at its final level (plateau runs only).
    package var plateauIndex: Int?
    /// RSS after the warm-up.
    package var baseline: UInt64
    /// Median RSS over the last tenth: the level it settled at.
    package var steady: UInt64
    /// RSS at the end minus the baseline.
    package var growth: Int64
    package var evidence: GrowthEvidence
}

/// Pure arithmetic over RSS series: classification, slope, plateau point. Unit-tested in isolation,
/// and held to the labelled corpus in Tests/HighwaterTests/Analysis/Corpus.
package enum GrowthAnalysis {
    package struct Thresholds: Sendable, Equatable {
        /// A rise from the baseline to the steady level at or below this is `stable` unless a clean line carries it.
        package var stableBytes: UInt64 = 4 << 20
        /// Below `stableBytes`, a line this clean (R²) and this large is still a small leak, not noise.
        package var smallLeakRSquared: Double = 0.8
        package var smallLeakBytes: Double = 1_048_576
        /// The plateau's own drift over its span, as a share of the rise, below which it counts as flat.
        package var flatShare: Double = 0.1
        /// A rise is ongoing when the last half climbs at least this share of the first half's slope: a leak
        /// keeps its pace, arenas rising to their high water slow down.
        package var ongoingSlopeShare: Double = 0.75
        /// R² a line needs over the counted requests for an ongoing rise to be called linear, unless the last
        /// half's slope alone is clear of zero (a slow leak under noise has a low R² and a tight interval).
        package var linearRSquared: Double = 0.8
        /// A level held at the end must be at least this share of the run (and 10 requests) to count as reached.
        package var endLevelShare: Double = 0.05
        /// The low percentile of a level taken as its floor: a level whose floor stayed within `stableBytes`
        /// of the baseline only swings above where it began (a cache filling and emptying), it did not rise.
        package var floorPercentile: Double = 0.1
        /// The live heap counts as flat when it rose by no more than this share of the RSS rise.
        package var flatHeapShare: Double = 0.25
        /// The most of a rise that may happen between the pool's steps (new threads, new arenas) for the pool to
        /// explain it: a filling pool grows at its steps and nowhere else, a leak grows with every request, so
        /// nearly all of a leak's rise falls between steps. A quarter leaves room for an arena that reaches its
        /// high water over its thread's first few requests rather than at once.
        package var poolBetweenShare: Double = 0.25
        package var minimums = GrowthMinimums()
        package init() {}
        package init(minimums: GrowthMinimums) { self.minimums = minimums }
    }

    /// - Parameters:
    ///   - rss: RSS after each request, in completion order.
    ///   - rssBefore: RSS before the first request: the baseline when nothing is warm-up.
    ///   - heap: the live heap after each request, where the allocator probe applies.
    ///   - samples: sampler readings after the warm-up; nil when the caller has none to count.
    ///   - seconds: wall time after the warm-up; nil when the caller has no clock to count.
    ///   - pool: the worker threads and arenas at each position, aligned with `rss`.
    ///   - warmup: requests whose growth does not count (0 counts them all).
    ///   - bySample: the series is a sampler's readings, not requests (`sample`): no minimum of requests.
    package static func verdict(rss: [UInt64], rssBefore: UInt64? = nil, heap: [UInt64]? = nil, samples: Int? = nil,
                               seconds: Double? = nil, pool: PoolSeries? = nil, warmup: Int = 1, bySample: Bool = false,
                               thresholds t: Thresholds = .init()) -> GrowthVerdict {
        let m = t.minimums
        let w = min(max(warmup, 0), rss.count)
        let n = rss.count - w
        let baseline = w > 0 ? rss[w - 1] : (rssBefore ?? rss.first ?? 0)
        let counted = rss[w...].map { Double($0) - Double(baseline) }
        let steady = n > 0 ? median(rss[(rss.count - max(1, n / 10))...]) : baseline
        var evidence = GrowthEvidence(requests_counted: bySample ? 0 : n, samples_counted: bySample ? (samples ?? n) : samples,
                                      warmup: w, minimums: m, baseline_bytes: baseline, steady_bytes: steady)
        evidence.seconds_counted = seconds
        var verdict = GrowthVerdict(classification: .inconclusive, slopeBytesPerRequest: 0, plateauIndex: nil, baseline: baseline,
                                    steady: steady, growth: Int64(bitPattern: (rss.last ?? baseline) &- baseline), evidence: evidence)
        // The live heap's growth is evidence even where the run is too short to judge (a leak's phase of `record`).
        var heapGrowth: (base: UInt64, steady: UInt64)?
        if let heap, heap.count == rss.count, heap.contains(where: { $0 != 0 }), n > 0 {
            heapGrowth = (w > 0 ? heap[w - 1] : heap[0], median(heap[(heap.count - max(1, n / 10))...]))
            verdict.evidence.heap_steady_bytes = heapGrowth!.steady
            verdict.evidence.heap_growth_bytes = Int64(heapGrowth!.steady) - Int64(heapGrowth!.base)
            evidence.heap_steady_bytes = verdict.evidence.heap_steady_bytes
            evidence.heap_growth_bytes = verdict.evidence.heap_growth_bytes
        }
        // Every minimum the run missed, each with its figures, so the advice names what to change.
        var lacking: [(what: String, text: String)] = []
        if !bySample, n < m.requests { lacking.append(("requests", "not enough requests to judge (\(n) of the \(m.requests) needed)")) }
        let sampleCount = bySample ? (samples ?? n) : samples
        if let sampleCount, sampleCount < max(m.samples, bySample ? 3 : 0) {
            lacking.append(("samples", "not enough samples to judge (\(sampleCount) of the \(m.samples) needed)"))
        }
        if let seconds, seconds < m.seconds {
            lacking.append(("time", "not enough time to judge (\(Quantity.format(seconds)) s of the \(Quantity.format(m.seconds)) s needed)"))
        }
        if !lacking.isEmpty || n < 3 {
            verdict.evidence.lacked = lacking.isEmpty ? ["samples"] : lacking.map(\.what)
            verdict.evidence.reason = lacking.isEmpty ? "not enough readings to judge (\(n))" : lacking.map(\.text).joined(separator: "; ")
            return verdict
        }

        let line = LineFit(counted)
        let firstHalf = LineFit(Array(counted[..<(n / 2)]))
        let lastHalf = LineFit(Array(counted[(n / 2)...]))
        verdict.slopeBytesPerRequest = line.slope
        evidence.slope_ci95_bytes_per_request = line.ci95
        evidence.r_squared = line.rSquared
        evidence.last_half_slope_bytes_per_request = lastHalf.slope

        let rise = Double(steady) - Double(baseline)
        let split = pool.flatMap { PoolGrowth.split(counted, pool: $0, warmup: w) }
        var heapFlat: Bool?
        if let (heapBase, heapSteady) = heapGrowth {
            // Where the pool grew, its steps are arena memory, not live: the live heap answers for the rise between them.
            let unexplained = split.map { max($0.within * Double(n), 0) } ?? max(rise, 0)
            heapFlat = Double(heapSteady) - Double(heapBase) <= t.flatHeapShare * unexplained
        }

        // A rise keeps its pace when the last half climbs at the first half's; where the pool grew, its steps make the
        // first half steep whatever follows, so the pace is the climb after its last step against the climb between steps.
        let ongoing = split.map { $0.last.slope > 0 && $0.last.slope >= t.ongoingSlopeShare * $0.within }
            ?? (lastHalf.slope > 0 && lastHalf.slope >= t.ongoingSlopeShare * firstHalf.slope)
        let clean = line.slope - line.ci95 > 0 && line.rSquared >= t.linearRSquared
        // A slow leak under noise: R² stays low, but the slope over the last half alone is clear of zero.
        let significant = line.slope - line.ci95 > 0 && (line.rSquared >= t.linearRSquared || lastHalf.slope - lastHalf.ci95 > 0)

        if rise <= Double(t.stableBytes) {
            // A clean, continuing line is a small leak even under the stable margin; anything else is noise.
            let smallLeak = clean && line.rSquared >= t.smallLeakRSquared && ongoing && line.slope * Double(n) >= t.smallLeakBytes
            verdict.classification = smallLeak ? (heapFlat == true ? .retention : .linear) : .stable
            verdict.evidence = evidence
            return verdict
        }

        if let p = pool, let split, let growth = PoolGrowth.explain(counted, split: split, pool: p, warmup: w, rise: rise,
                                                                   betweenShare: t.poolBetweenShare, flatShare: t.flatShare,
                                                                   plateauShare: m.plateauShare) {
            // The rise came in steps where the pool grew and held between them: the pool, filled or filling.
            evidence.pool_bound = growth.bound.rawValue
            evidence.pool_threads = growth.threads
            evidence.pool_arenas = growth.arenas
            evidence.pool_between_share = growth.betweenShare
            evidence.pool_steps = growth.steps.count
            evidence.pool_still_filling = growth.stillFilling
            evidence.pool_single = growth.single ? true : nil
            if growth.single {
                // A pool of one: the rise is its one worker's working set, taken once (as a hosted run's warm-up
                // request takes it before counting); nothing grew with the pool.
                verdict.classification = .stable
            } else if growth.stillFilling {
                verdict.classification = .stillGrowing
            } else {
                verdict.classification = .plateau
                verdict.plateauIndex = w + growth.lastStep
                evidence.plateau_position = w + growth.lastStep
                evidence.plateau_share = Double(n - growth.lastStep) / Double(n)
            }
            verdict.evidence = evidence
            return verdict
        }

        let change = ChangePoint.lineThenLevel(counted)
        let level = LineFit(Array(counted[change...]))
        let levelDrift = abs(level.slope) * Double(n - change)
        let share = Double(n - change) / Double(n)
        let flat = levelDrift <= max(t.flatShare * rise, 3 * level.residualScale)
        if flat && n - change >= 2 {
            evidence.plateau_position = w + change
            evidence.plateau_share = share
        }
        // A level reached at the end, too late to be a plateau: its slope is clearly below the climb's (between the
        // pool's steps, where it grew: its steps are not the climb).
        let endLevel = n - change >= max(10, Int(t.endLevelShare * Double(n)))
            && level.slope + level.ci95 < t.ongoingSlopeShare * (split?.within ?? line.slope)
        /// A plateau found by other means than the flat fit: its start and the share of the run after it.
        func plateau(from start: Int) {
            verdict.classification = .plateau
            verdict.plateauIndex = w + start
            evidence.plateau_position = w + start
            evidence.plateau_share = Double(n - start) / Double(n)
        }
        let levelValues = counted[change...].sorted()
        let floorRise = levelValues[min(levelValues.count - 1, Int(t.floorPercentile * Double(levelValues.count)))]
        if flat && floorRise <= Double(t.stableBytes) {
            // The "rise" is the level's own swing above where it started: its floor did not move.
            verdict.classification = .stable
        } else if flat && share >= m.plateauShare {
            verdict.classification = .plateau
            verdict.plateauIndex = w + change
        } else if let peak = Self.fallingBack(counted, lastHalf: lastHalf, minimumShare: m.plateauShare) {
            // Not still growing: it rose, peaked, and has been coming down since (tcmalloc's release, a trim).
            plateau(from: peak)
            evidence.fell_back_bytes = UInt64(max(0, counted[peak] - (Double(steady) - Double(baseline))))
        } else if let (start, low, high) = Self.noisyLevel(counted, lastHalf: lastHalf, minimumShare: m.plateauShare) {
            // No trend over the last half, only swings (the working sets of many requests in flight, trimmed
            // or not): the rise is bounded and was reached early.
            plateau(from: start)
            evidence.level_low_bytes = UInt64(max(0, Double(baseline) + low))
            evidence.level_high_bytes = UInt64(max(0, Double(baseline) + high))
        } else if heapFlat == true {
            verdict.classification = .retention
        } else if significant && ongoing && !endLevel {
            verdict.classification = .linear
        } else {
            verdict.classification = .stillGrowing
        }
        verdict.evidence = evidence
        return verdict
    }

    /// The peak of a rise that has come down since: the last half falls clearly (its slope's interval below
    /// zero) and the peak leaves at least `minimumShare` of the run after it. nil otherwise.
    static func fallingBack(_ counted: [Double], lastHalf: LineFit, minimumShare: Double) -> Int? {
        guard lastHalf.slope + lastHalf.ci95 < 0, let top = counted.indices.max(by: { counted[$0] < counted[$1] }) else { return nil }
        return Double(counted.count - top) / Double(counted.count) >= minimumShare ? top : nil
    }

    /// A level under heavy noise: the last half has no clear trend either way (its slope's interval holds zero),
    /// and the series first reached the level's 25th percentile early enough to leave `minimumShare` of the run
    /// after it. Returns that position and the level's 25th and 75th percentiles (above the baseline).
    static func noisyLevel(_ counted: [Double], lastHalf: LineFit, minimumShare: Double) -> (start: Int, low: Double, high: Double)? {
        guard lastHalf.slope - lastHalf.ci95 <= 0, lastHalf.slope + lastHalf.ci95 >= 0 else { return nil }
        let level = counted[(counted.count / 2)...].sorted()
        guard !level.isEmpty else { return nil }
        let low = level[level.count / 4], high = level[(3 * level.count) / 4]
        guard let start = counted.firstIndex(where: { $0 >= low }),
              Double(counted.count - start) / Double(counted.count) >= minimumShare else { return nil }
        return (start, low, high)
    }

    /// Slope of y over its index, by least squares; 0 for fewer than two points.
    package static func leastSquaresSlope(_ ys: [Double]) -> Double { LineFit(ys).slope }

    package static func median<C: Collection>(_ values: C) -> UInt64 where C.Element == UInt64 {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[sorted.count / 2]
    }
}

/// Latency percentiles by nearest rank.
package enum Percentiles {
    package static func of(_ values: [Double]) -> RunSummary.Latency {
        guard !values.isEmpty else { return .zero }
        let sorted = values.sorted()
        func rank(_ p: Double) -> Double {
            let k = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(max(k, 0), sorted.count - 1)]
        }
        return RunSummary.Latency(p50: rank(50), p90: rank(90), p99: rank(99), max: sorted[sorted.count - 1])
    }
}
