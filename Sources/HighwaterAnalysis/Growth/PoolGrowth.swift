/// The pool behind a memory series, position by position (aligned with the RSS series, warm-up included):
/// how many worker threads had served by then (or the process's threads, where no requests are seen) and how
/// many glibc arenas the process had. Either may be nil where it was not measured.
package struct PoolSeries: Sendable, Equatable {
    package var threads: [UInt64]?
    package var arenas: [UInt64]?
    /// glibc's arena cap for the process, and how it was set ("MALLOC_ARENA_MAX=2", "8 x 2 cores").
    package var arenaLimit: Int?
    package var arenaLimitSource: String?
    /// `threads` counts the pool's workers (a hosted run's, from its requests), not every thread of the process.
    package var threadsAreWorkers: Bool

    package init(threads: [UInt64]? = nil, arenas: [UInt64]? = nil, arenaLimit: Int? = nil, arenaLimitSource: String? = nil,
                threadsAreWorkers: Bool = false) {
        self.threads = threads; self.arenas = arenas; self.arenaLimit = arenaLimit; self.arenaLimitSource = arenaLimitSource
        self.threadsAreWorkers = threadsAreWorkers
    }
}

/// A rise that the pool explains: RSS stepped where the pool took a new worker thread or glibc made a new arena,
/// and stayed flat between those steps. Each new worker that allocates gets an arena of its own (until glibc's
/// cap) and keeps what it freed there, so a pool filling up raises RSS once per thread or arena and never again
/// once it is full; a leak grows with the requests themselves, between the pool's steps as much as at them.
package struct PoolGrowth: Equatable, Sendable {
    package enum Bound: String, Sendable { case threads, arenas }

    /// What bounded the rise: the threads the pool stopped adding, or glibc's arenas at their cap (the threads
    /// after it share them).
    package var bound: Bound
    /// Positions in the counted series (after the warm-up) where the pool grew.
    package var steps: [Int]
    /// The worker threads and the arenas when the last step came.
    package var threads: Int?
    package var arenas: Int?
    /// The rise that happened between steps (the series' slope within the stretches between them, over the
    /// run), as a share of the whole rise.
    package var betweenShare: Double
    /// The pool still grew in the last stretch of the run (less than the plateau share after its last step):
    /// still filling, so where it stops is not seen yet.
    package var stillFilling: Bool
    /// The pool grew by one worker at most (one thread, at most one arena) while counted: its rise is that one
    /// worker's working set, the program's own footprint once it works, not growth with the pool.
    package var single: Bool

    package var lastStep: Int { steps.last ?? 0 }

    /// The counted series cut at the pool's steps: where they fell, RSS's slope within the stretches between them,
    /// and the line over the stretch after the last. What the pool rule and, where it does not apply, the other
    /// rules of the verdict read: a rise that keeps its pace between the pool's steps is the requests', not the pool's.
    package struct Split: Sendable {
        /// Positions in the counted series where the pool grew.
        package var steps: [Int]
        /// The slope within the stretches between steps, pooled (each stretch its own level), bytes per position.
        package var within: Double
        /// The line over the stretch after the last step.
        package var last: LineFit
        /// The running thread and arena counts over the whole series.
        var threads: [UInt64]?
        var arenas: [UInt64]?
    }

    /// nil where the pool was not measured, did not change while counted, or changed at most positions (a
    /// thread per request: an unbounded pool, whose steps could be made to explain any series).
    package static func split(_ counted: [Double], pool: PoolSeries, warmup w: Int) -> Split? {
        let n = counted.count
        guard n >= 3 else { return nil }
        let threads = running(pool.threads, count: w + n)
        let arenas = running(pool.arenas, count: w + n)
        guard threads != nil || arenas != nil else { return nil }
        var steps: [Int] = []
        for k in 0..<n {
            let i = w + k
            guard i > 0 else { continue }
            let newThread = threads.map { $0[i] > $0[i - 1] } ?? false
            let newArena = arenas.map { $0[i] > $0[i - 1] } ?? false
            if newThread || newArena { steps.append(k) }
        }
        guard !steps.isEmpty, steps.count * 2 <= n else { return nil }
        // Long stretches weigh most, so the lag of a new arena rising to its high water over a thread's first
        // requests counts for little.
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
        return Split(steps: steps, within: sxx > 0 ? sxy / sxx : 0, last: LineFit(Array(counted[steps.last!...])),
                     threads: threads, arenas: arenas)
    }

    /// - Parameters:
    ///   - counted: RSS over the baseline after the warm-up.
    ///   - split: the same series cut at the pool's steps.
    ///   - pool: the pool's series, aligned with the whole RSS series (warm-up included).
    ///   - warmup: positions of the whole series before `counted`.
    ///   - rise: the steady level over the baseline.
    ///   - betweenShare: the most of the rise that may happen between steps.
    ///   - flatShare: the most of the rise RSS may drift after the last step (beyond its own noise) and count as flat.
    ///   - plateauShare: the least share of the run the pool must have held still at the end.
    /// - Returns: nil where the pool does not explain the rise.
    package static func explain(_ counted: [Double], split: Split, pool: PoolSeries, warmup w: Int, rise: Double,
                               betweenShare: Double, flatShare: Double, plateauShare: Double) -> PoolGrowth? {
        let n = counted.count
        guard rise > 0, let lastStep = split.steps.last else { return nil }
        let share = max(0, split.within * Double(n)) / rise
        // After the last step the pool stood still: RSS must be flat there, by the same measure as any plateau (its
        // drift within the larger of a share of the rise and its own noise). A leak under a pool that filled early
        // keeps climbing after the pool's last step, however small a share of the rise the climb is.
        let lastDrift = max(0, split.last.slope) * Double(n - lastStep)
        guard share <= betweenShare, lastDrift <= max(flatShare * rise, 3 * split.last.residualScale) else { return nil }

        let at = w + lastStep
        let arenasAtEnd = split.arenas.map { Int($0[w + n - 1]) }
        // glibc's arenas at their cap bound the memory: the threads added after it share them. Below it each new
        // worker gets an arena of its own, one for one, so the threads are the cause (whichever of the two the
        // sampler happened to see first).
        let capped = arenasAtEnd != nil && pool.arenaLimit != nil && arenasAtEnd! >= pool.arenaLimit!
        let start = max(w - 1, 0)
        let grew = (split.threads.map { $0[w + n - 1] - $0[start] } ?? 0, split.arenas.map { $0[w + n - 1] - $0[start] } ?? 0)
        // Workers counted: one at the end. The process's threads counted (a sampled program): one more thread and at
        // most one more arena than at the start, its other threads being its own.
        let single = pool.threadsAreWorkers ? (split.threads.map { $0[w + n - 1] <= 1 } ?? false) : grew.0 <= 1 && grew.1 <= 1
        return PoolGrowth(bound: capped || split.threads == nil ? .arenas : .threads, steps: split.steps,
                          threads: split.threads.map { Int($0[at]) }, arenas: capped ? arenasAtEnd : split.arenas.map { Int($0[at]) },
                          betweenShare: share, stillFilling: Double(n - lastStep) / Double(n) < plateauShare, single: single)
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
