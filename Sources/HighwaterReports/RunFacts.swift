import HighwaterAnalysis
import HighwaterRecords

/// Figures of one run that the charts and sentences use, computed from the raw data where it exists
/// and taken from `summary.json` where it does not.
public struct RunFacts: Sendable {
    public var classification: GrowthClass
    /// RSS after the warm-up, and the level it settled at.
    public var baseline: UInt64
    public var steady: UInt64
    /// Steady level minus baseline (or `rss_growth` without request data).
    public var growth: Int64
    public var slopeBytesPerRequest: Double
    /// Position (0-based, in completion order) from which RSS stayed at its final level.
    public var plateauPosition: Int?
    /// Worker threads that had run a request when RSS settled, and those already there after the warm-up.
    public var plateauThreads: Int?
    public var baselineThreads: Int
    public var growthPerThread: Double?
    public var plateauArenas: Int?
    public var workerThreads: Int
    public var arenasMax: Int
    public var throughput: Double
    public var durationSeconds: Double
    /// Per position: was this the first request its thread ran (it pays for the thread's arena)?
    public var firstOnThread: [Bool]
    /// Per position: worker threads that had run a request so far.
    public var threadsSeen: [Int]
    public var meanDeltaFirstOnThread: Double?
    public var meanDeltaOther: Double?
    /// Least-squares slope of the heap in use over the last half of the requests, bytes per request.
    public var heapSlopeBytesPerRequest: Double?
    public var errorCount: Int

    public init(_ run: RunData, warmup: Int = 1) {
        let s = run.summary
        let r = run.requests
        classification = s.growth.classification
        arenasMax = s.arenas_max
        if let arenas = run.samples.arenas, let m = arenas.max() { arenasMax = max(arenasMax, Int(m)) }
        // A request failed if it answered 4xx/5xx or carries an error text; one that did both counts once.
        let failedOnHost = r.status.indices.filter { r.status[$0] >= 400 || r.errors[$0] != nil }.count
        errorCount = max(s.errors, failedOnHost)
        guard r.count > 0 else {
            baseline = s.rss_start; steady = s.rss_steady ?? s.rss_end; growth = s.rss_growth
            slopeBytesPerRequest = s.growth.slope_bytes_per_request
            plateauPosition = s.growth.first_plateau_request
            plateauThreads = s.plateau_threads; baselineThreads = 1; growthPerThread = s.growth_per_thread
            plateauArenas = s.plateau_arenas; workerThreads = s.worker_threads ?? s.threads_max
            throughput = s.throughput_rps; durationSeconds = 0; firstOnThread = []; threadsSeen = []
            meanDeltaFirstOnThread = s.rss_delta_first_on_thread; meanDeltaOther = s.rss_delta_other
            return
        }
        let verdict = GrowthAnalysis.verdict(rss: r.rssAfter, warmup: warmup)
        baseline = verdict.baseline
        steady = verdict.steady
        growth = Int64(verdict.steady) - Int64(verdict.baseline)
        slopeBytesPerRequest = verdict.slopeBytesPerRequest

        var seen = Set<Int32>()
        var first = [Bool](repeating: false, count: r.count)
        var counts = [Int](repeating: 0, count: r.count)
        var sumFirst = 0.0, nFirst = 0, sumOther = 0.0, nOther = 0
        for k in 0..<r.count {
            let delta = Double(Int64(bitPattern: r.rssAfter[k] &- r.rssBefore[k]))
            if seen.insert(r.tid[k]).inserted {
                first[k] = true; sumFirst += delta; nFirst += 1
            } else {
                sumOther += delta; nOther += 1
            }
            counts[k] = seen.count
        }
        firstOnThread = first
        threadsSeen = counts
        workerThreads = seen.count
        meanDeltaFirstOnThread = nFirst > 0 ? sumFirst / Double(nFirst) : nil
        meanDeltaOther = nOther > 0 ? sumOther / Double(nOther) : nil
        let w = min(max(warmup, 0), r.count - 1)
        baselineThreads = w > 0 ? counts[w - 1] : 0

        plateauPosition = verdict.plateauIndex ?? (classification == .plateau ? s.growth.first_plateau_request : nil)
        if let p = plateauPosition, p < r.count {
            // The plateau's first request is the one that completed the climb (the last new thread's first request).
            let climbEnd = p
            let threads = counts[climbEnd]
            plateauThreads = threads
            let arrived = threads - baselineThreads
            growthPerThread = arrived > 0 ? Double(growth) / Double(arrived) : nil
            plateauArenas = RunFacts.arenas(at: r.endNs[climbEnd], samples: run.samples) ?? s.plateau_arenas
        } else {
            plateauThreads = nil; growthPerThread = nil; plateauArenas = nil
        }

        let start = r.startNs.min() ?? 0, end = r.endNs.max() ?? 0
        durationSeconds = end > start ? Double(end - start) / 1e9 : 0
        throughput = s.throughput_rps > 0 ? s.throughput_rps : (durationSeconds > 0 ? Double(r.count) / durationSeconds : 0)

        if r.heapAfter.contains(where: { $0 != 0 }) {
            let half = r.heapAfter[(r.count / 2)...]
            let step = max(1, half.count / 20_000)
            var ys: [Double] = []
            ys.reserveCapacity(half.count / step + 1)
            var k = half.startIndex
            while k < half.endIndex { ys.append(Double(half[k])); k += step }
            heapSlopeBytesPerRequest = GrowthAnalysis.leastSquaresSlope(ys) / Double(step)
        } else {
            heapSlopeBytesPerRequest = nil
        }
    }

    /// The arena count of the first sample taken at or after `tNs` (the last sample when none was):
    /// the state once that request had finished.
    static func arenas(at tNs: UInt64, samples: SampleColumns) -> Int? {
        guard let arenas = samples.arenas, !arenas.isEmpty else { return nil }
        var lo = 0, hi = samples.tNs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if samples.tNs[mid] < tNs { lo = mid + 1 } else { hi = mid }
        }
        return Int(arenas[min(lo, arenas.count - 1)])
    }

    /// Arena count per request position, from the sample taken just before each request ended.
    static func arenasByRequest(_ run: RunData) -> [Double]? {
        guard let arenas = run.samples.arenas, !arenas.isEmpty, run.requests.count > 0 else { return nil }
        let t = run.samples.tNs
        var out = [Double](repeating: 0, count: run.requests.count)
        var j = 0
        for k in 0..<run.requests.count {
            let end = run.requests.endNs[k]
            while j + 1 < t.count, t[j + 1] <= end { j += 1 }
            out[k] = Double(arenas[j])
        }
        return out
    }
}
