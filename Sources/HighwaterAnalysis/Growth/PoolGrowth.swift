/// The pool behind a memory series, position by position (aligned with the RSS series, warm-up included):
/// how many worker threads had served by then (or the process's threads, where no requests are seen) and how
/// many glibc arenas the process had. Either may be nil where it was not measured.
public struct PoolSeries: Sendable, Equatable {
    public var threads: [UInt64]?
    public var arenas: [UInt64]?
    /// glibc's arena cap for the process, and how it was set ("MALLOC_ARENA_MAX=2", "8 x 2 cores").
    public var arenaLimit: Int?
    public var arenaLimitSource: String?

    public init(threads: [UInt64]? = nil, arenas: [UInt64]? = nil, arenaLimit: Int? = nil, arenaLimitSource: String? = nil) {
        self.threads = threads; self.arenas = arenas; self.arenaLimit = arenaLimit; self.arenaLimitSource = arenaLimitSource
    }
}

/// A rise that the pool explains: RSS stepped where the pool took a new worker thread or glibc made a new arena,
/// and stayed flat between those steps. Each new worker that allocates gets an arena of its own (until glibc's
/// cap) and keeps what it freed there, so a pool filling up raises RSS once per thread or arena and never again
/// once it is full; a leak grows with the requests themselves, between the pool's steps as much as at them.
public struct PoolGrowth: Equatable, Sendable {
    public enum Bound: String, Sendable { case threads, arenas }

    /// What bounded the rise: the threads the pool stopped adding, or glibc's arenas at their cap (the threads
    /// after it share them).
    public var bound: Bound
    /// Positions in the counted series (after the warm-up) where the pool grew.
    public var steps: [Int]
    /// The worker threads and the arenas when the last step came.
    public var threads: Int?
    public var arenas: Int?
    /// The rise that happened between steps (the series' slope within the stretches between them, over the
    /// run), as a share of the whole rise.
    public var betweenShare: Double
    /// The pool still grew in the last stretch of the run (less than the plateau share after its last step):
    /// still filling, so where it stops is not seen yet.
    public var stillFilling: Bool

    public var lastStep: Int { steps.last ?? 0 }

    /// - Parameters:
    ///   - counted: RSS over the baseline after the warm-up.
    ///   - pool: the pool's series, aligned with the whole RSS series (warm-up included).
    ///   - warmup: positions of the whole series before `counted`.
    ///   - rise: the steady level over the baseline.
    ///   - betweenShare: the most of the rise that may happen between steps.
    ///   - plateauShare: the least share of the run the pool must have held still at the end.
    /// - Returns: nil where the pool does not explain the rise.
    public static func explain(_ counted: [Double], pool: PoolSeries, warmup w: Int, rise: Double, betweenShare: Double,
                               plateauShare: Double) -> PoolGrowth? {
        let n = counted.count
        guard n >= 3, rise > 0 else { return nil }
        let threads = running(pool.threads, count: w + n)
        let arenas = running(pool.arenas, count: w + n)
        guard threads != nil || arenas != nil else { return nil }
        var steps: [Int] = []
        var lastKind: Bound = .threads
        for k in 0..<n {
            let i = w + k
            guard i > 0 else { continue }
            let newThread = threads.map { $0[i] > $0[i - 1] } ?? false
            let newArena = arenas.map { $0[i] > $0[i - 1] } ?? false
            if newThread || newArena {
                steps.append(k)
                lastKind = newThread ? .threads : .arenas
            }
        }
        // No step: nothing of the pool changed while RSS rose. Steps at most positions (a thread per request):
        // an unbounded pool, whose steps could be made to explain any series.
        guard !steps.isEmpty, steps.count * 2 <= n else { return nil }

        // The slope within the stretches between steps, pooled (each stretch its own level): what RSS did while
        // the pool stood still. Long stretches weigh most, so the lag of a new arena rising to its high water
        // over a thread's first requests counts for little.
        var sxy = 0.0, sxx = 0.0
        let bounds = [0] + steps + [n]
        for j in 0..<(bounds.count - 1) where bounds[j + 1] - bounds[j] >= 3 {
            let stretch = counted[bounds[j]..<bounds[j + 1]]
            let m = Double(stretch.count)
            let meanX = Double(bounds[j]) + (m - 1) / 2
            let meanY = stretch.reduce(0, +) / m
            for (x, y) in zip(bounds[j]..<bounds[j + 1], stretch) {
                sxy += (Double(x) - meanX) * (y - meanY); sxx += (Double(x) - meanX) * (Double(x) - meanX)
            }
        }
        let within = sxx > 0 ? sxy / sxx : 0
        let share = max(0, within * Double(n)) / rise
        // After the last step the pool stood still: a rise there is not the pool's, whatever the stretches before.
        let last = LineFit(Array(counted[steps.last!...]))
        let lastShare = max(0, last.slope * Double(n - steps.last!)) / rise
        guard share <= betweenShare, lastShare <= betweenShare else { return nil }

        let at = w + steps.last!
        let arenasAtEnd = arenas.map { Int($0[w + n - 1]) }
        // glibc's arenas at their cap bound the memory: the threads added after it share them.
        let capped = arenasAtEnd != nil && pool.arenaLimit != nil && arenasAtEnd! >= pool.arenaLimit!
        return PoolGrowth(bound: capped ? .arenas : lastKind, steps: steps, threads: threads.map { Int($0[at]) },
                          arenas: capped ? arenasAtEnd : arenas.map { Int($0[at]) }, betweenShare: share,
                          stillFilling: Double(n - steps.last!) / Double(n) < plateauShare)
    }

    /// The series' running maximum (a pool's size never shrinks in what it left behind: glibc never frees an
    /// arena, and a worker that served kept its arena's memory), or nil where it was not measured or its length
    /// does not match.
    static func running(_ series: [UInt64]?, count: Int) -> [UInt64]? {
        guard let series, series.count == count, series.contains(where: { $0 > 0 }) else { return nil }
        var top: UInt64 = 0
        return series.map { top = max(top, $0); return top }
    }
}
