@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterRecords

/// A labelled series for the growth classifier: RSS and the live heap after each request, and the class a
/// reader who knows how the series was made expects. The corpus is the classifier's specification: every
/// series in it must get its label (Tests/HighwaterTests/Analysis/GrowthCorpusTests.swift).
package struct LabelledSeries: Sendable, CustomStringConvertible {
    package var name: String
    package var expected: GrowthClass
    /// How the series was made, for the table.
    package var origin: String
    package var rssBefore: UInt64
    package var rss: [UInt64]
    /// Nil where the allocator probe did not apply (another allocator).
    package var heap: [UInt64]?
    package var warmup: Int
    /// The worker threads and arenas at each position, where they were recorded.
    package var pool: PoolSeries?
    /// Wall time after the warm-up, where it was recorded.
    package var seconds: Double?
    /// The positions are a sampler's readings (`highwater sample`), not requests.
    package var bySample: Bool
    /// The label the verdict should carry ("plateau at 2 arenas (MALLOC_ARENA_MAX=2)"), where the series says.
    package var expectedBound: String?

    package init(name: String, expected: GrowthClass, origin: String, rssBefore: UInt64, rss: [UInt64], heap: [UInt64]?,
                warmup: Int = 1, pool: PoolSeries? = nil, seconds: Double? = nil, bySample: Bool = false, expectedBound: String? = nil) {
        self.name = name; self.expected = expected; self.origin = origin; self.rssBefore = rssBefore
        self.rss = rss; self.heap = heap; self.warmup = warmup; self.pool = pool; self.seconds = seconds
        self.bySample = bySample; self.expectedBound = expectedBound
    }

    /// The classifier's verdict on this series, with everything it carries.
    package var verdict: GrowthVerdict {
        GrowthAnalysis.verdict(rss: rss, rssBefore: rssBefore, heap: heap, samples: bySample ? rss.count - warmup : nil,
                               seconds: seconds, pool: pool, warmup: warmup, bySample: bySample)
    }

    package var description: String { name }
}

/// The synthetic half of the corpus, from one seeded generator: leaks of several slopes under noise, slow
/// leaks hidden by noise, plateaus early and late, step-and-hold, sawtooth collection, bursts that return,
/// retention with a flat live heap, and runs too short to judge. Each shape is built from what the
/// mechanism does to RSS (pages of 4 KiB, arenas rising to their own high water), not from the classifier.
package enum GrowthCorpus {
    static let kib: Double = 1024
    static let mib: Double = 1_048_576
    static let start: Double = 30 * mib
    /// A live heap of a few MiB that a handler allocating and freeing leaves where it was.
    static let heapBase: Double = 2 * mib

    /// One series: `rss(i)` and `heap(i)` are the noiseless shapes in bytes over the baseline; noise is
    /// Gaussian with the given scale, and RSS is rounded to whole pages as the kernel counts it.
    static func series(_ name: String, _ expected: GrowthClass, _ origin: String, count: Int, seed: UInt64,
                       rssNoise: Double = 64 * kib, heapNoise: Double = 16 * kib,
                       rss: (Int) -> Double, heap: ((Int) -> Double)?) -> LabelledSeries {
        var random = SyntheticResults.Random(state: seed &* 0x2545_F491_4F6C_DD1D)
        func gauss() -> Double {
            let u = max(random.unit(), 1e-12), v = random.unit()
            return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
        }
        func page(_ b: Double) -> UInt64 { UInt64(max(b, 4096) / 4096) * 4096 }
        let r = (0..<count).map { i in page(start + rss(i) + rssNoise * gauss()) }
        let h = heap.map { heap in (0..<count).map { i in UInt64(max(heapBase + heap(i) + heapNoise * gauss(), 0)) } }
        return LabelledSeries(name: name, expected: expected, origin: origin, rssBefore: page(start), rss: r, heap: h)
    }

    /// Arenas of 1 to 9 MiB, two of every three requests in the first 60 adding one.
    static func unevenArenas(upTo i: Int) -> Double {
        var total = 0.0
        for k in 0..<min(i, 60) where k % 3 != 1 { total += Double(1 + (k * 7919) % 9) * mib }
        return total
    }

    /// Every synthetic series, in a fixed order with fixed seeds.
    package static var labelled: [LabelledSeries] {
        var all: [LabelledSeries] = []
        var seed: UInt64 = 1
        func add(_ name: String, _ expected: GrowthClass, _ origin: String, count: Int, rssNoise: Double = 64 * kib,
                 heapNoise: Double = 16 * kib, rss: @escaping (Int) -> Double, heap: ((Int) -> Double)?) {
            all.append(series(name, expected, origin, count: count, seed: seed, rssNoise: rssNoise, heapNoise: heapNoise,
                              rss: rss, heap: heap))
            seed += 1
        }
        let none: (Int) -> Double = { _ in 0 }

        // Leaks: the live heap rises with RSS.
        for (perRequest, noise, count) in [(64 * kib, 256 * kib, 2000), (16 * kib, 1 * mib, 1000), (1 * mib, 4 * mib, 300),
                                           (8 * kib, 64 * kib, 300)] {
            add("leak \(Int(perRequest / kib)) KiB/req, noise \(Int(noise / kib)) KiB, \(count) req", .linear,
                "RSS and the heap rise by the same bytes each request", count: count, rssNoise: noise,
                rss: { Double($0) * perRequest }, heap: { Double($0) * perRequest })
        }
        // Slow leaks that the noise hides request by request but not over the run.
        add("slow leak 4 KiB/req under 2 MiB noise, 3000 req", .linear, "8 MiB over the run, 2 MiB noise each request",
            count: 3000, rssNoise: 2 * mib, heapNoise: 1 * mib, rss: { Double($0) * 4 * kib }, heap: { Double($0) * 4 * kib })
        add("slow leak 1 MiB every 50 req, 2000 req", .linear, "a leaked chunk that takes new pages now and then",
            count: 2000, rss: { Double($0 / 50) * mib }, heap: { Double($0) * mib / 50 })

        // Plateaus: a pool filling up, each new thread's arena rising to its own high water; the heap stays.
        add("plateau early: 16 threads x 8 MiB, 2000 req", .plateau, "one arena per new worker in the first 16 requests",
            count: 2000, rss: { Double(min($0, 16)) * 8 * mib }, heap: none)
        add("plateau early, uneven arenas under noise, 1000 req", .plateau,
            "40 arenas of 1 to 9 MiB each, the last at request 60; 512 KiB noise", count: 1000, rssNoise: 512 * kib,
            rss: { i in unevenArenas(upTo: i) }, heap: none)
        add("plateau late: rise over 70% of the run, 1000 req", .plateau, "a 70% ramp, then flat for 30%",
            count: 1000, rss: { Double(min($0, 700)) * 96 * kib }, heap: none)
        // A level reached only in the last stretch, or a rise still slowing down: where the live heap is not
        // known (another allocator) the run is too short to tell; where it stayed flat, the rise was retention.
        add("level reached in the last 5%, no heap figure", .stillGrowing, "a ramp to request 1900 of 2000 under jemalloc",
            count: 2000, rss: { Double(min($0, 1900)) * 32 * kib }, heap: nil)
        add("decelerating rise, no heap figure", .stillGrowing, "arenas still rising to their high water at the end",
            count: 1500, rss: { 80 * mib * (1 - exp(-Double($0) / 1500)) }, heap: nil)
        add("level reached in the last 5%, heap flat", .retention, "the same ramp with glibc's live heap flat throughout",
            count: 2000, rss: { Double(min($0, 1900)) * 32 * kib }, heap: none)
        add("decelerating rise, heap flat", .retention, "lazy-40-c40-arena2 at 2000 requests: never settled, heap flat",
            count: 1500, rss: { 80 * mib * (1 - exp(-Double($0) / 1500)) }, heap: none)

        // Step and hold: one large request's arena keeps its pages.
        add("step and hold: 50 MiB at request 100, 2000 req", .plateau, "one 50 MiB step, then held",
            count: 2000, rss: { $0 >= 100 ? 50 * mib : 0 }, heap: none)
        add("three steps then hold, 600 req", .plateau, "steps of 20, 12 and 30 MiB at requests 30, 90 and 200",
            count: 600, rss: { i in (i >= 30 ? 20 * mib : 0) + (i >= 90 ? 12 * mib : 0) + (i >= 200 ? 30 * mib : 0) }, heap: none)

        // A rise that peaks and is given back slowly (tcmalloc's release, a periodic trim): it stopped growing.
        add("rise to 60 MiB, then 15 MiB given back slowly, 2000 req", .plateau, "an allocator releasing memory after the pool filled",
            count: 2000, rss: { i in i < 150 ? Double(i) * 60 * mib / 150 : 60 * mib - Double(i - 150) * 15 * mib / 1850 }, heap: none)

        // Sawtooth: a cache or collector that fills and empties; bounded, so not growth.
        add("sawtooth 20 MiB every 100 req, 2000 req", .stable, "fills 20 MiB over 100 requests, trims back",
            count: 2000, rss: { Double($0 % 100) * 20 * mib / 100 }, heap: { Double($0 % 100) * 20 * mib / 100 })
        add("sawtooth whose floor rises 16 KiB/req", .linear, "a collector that frees less than it took each cycle",
            count: 2000, rss: { Double($0 % 100) * 10 * mib / 100 + Double($0) * 16 * kib },
            heap: { Double($0 % 100) * 10 * mib / 100 + Double($0) * 16 * kib })

        // Bursts that return.
        add("burst of 100 MiB mid-run that returns", .stable, "requests 500-540 hold 100 MiB, then free and trim it",
            count: 2000, rss: { (500..<540).contains($0) ? 100 * mib : 0 }, heap: { (500..<540).contains($0) ? 100 * mib : 0 })
        add("burst at the start that returns", .stable, "the first 20 requests after warm-up hold 40 MiB",
            count: 1000, rss: { (1..<20).contains($0) ? 40 * mib : 0 }, heap: none)
        add("flat under 1 MiB noise", .stable, "nothing held", count: 2000, rssNoise: 1 * mib, rss: none, heap: none)
        add("flat with one 64 MiB spike", .stable, "a single request's transient mapping", count: 1000,
            rss: { $0 == 400 ? 64 * mib : 0 }, heap: none)
        add("eager-1: a pool of one, flat", .stable, "one arena reused by one thread", count: 2000, rssNoise: 16 * kib,
            rss: none, heap: none)

        // Retention: RSS keeps rising while the live heap stays flat (arenas holding freed memory).
        add("retention: RSS 32 KiB/req, heap flat, 2000 req", .retention, "free memory kept by the arenas, fragmented",
            count: 2000, rssNoise: 256 * kib, rss: { Double($0) * 32 * kib }, heap: none)
        add("retention in steps, heap flat under noise, 1500 req", .retention,
            "each arena's high water creeping up by 2 MiB every 60 requests", count: 1500, heapNoise: 256 * kib,
            rss: { Double($0 / 60) * 2 * mib }, heap: none)
        add("small retention 6 KiB/req, heap flat, 1000 req", .retention, "6 MiB retained, under the stable margin",
            count: 1000, rssNoise: 32 * kib, rss: { Double($0) * 6 * kib }, heap: none)

        // A pool filling up, with its threads and arenas recorded: each new worker's first requests raise RSS
        // (its arena rising to its high water over a few requests), and nothing else does.
        func pooled(_ name: String, _ expected: GrowthClass, _ origin: String, count: Int, rssNoise: Double = 256 * kib,
                    threadAt: @escaping (Int) -> Int, arenaAt: ((Int) -> Int)? = nil, arenaLimit: Int? = nil,
                    bound: String? = nil, heap: @escaping (Int) -> Double = { _ in 0 }, rss: @escaping (Int) -> Double) {
            var one = series(name, expected, origin, count: count, seed: seed, rssNoise: rssNoise, rss: rss, heap: heap)
            one.pool = PoolSeries(threads: (0..<count).map { UInt64(threadAt($0)) }, arenas: arenaAt.map { a in (0..<count).map { UInt64(a($0)) } },
                                  arenaLimit: arenaLimit, threadsAreWorkers: true)
            one.expectedBound = bound
            all.append(one)
            seed += 1
        }
        /// Worker k's arena: 2 to 6 MiB, reached over its first 3 requests from its start.
        func arenaSteps(starts: [Int]) -> (Int) -> Double {
            { i in starts.enumerated().reduce(0.0) { sum, e in
                let size = Double(2 + (e.offset * 7) % 5) * mib
                return sum + (i < e.element ? 0 : size * min(1, Double(i - e.element + 1) / 3))
            } }
        }
        let forty = (0..<40).map { 1 + 5 * $0 }
        pooled("lazy pool filling: 40 threads over 200 requests, steps only", .plateau,
               "one worker started every 5 requests, its arena of 2-6 MiB reached over 3 requests, flat between",
               count: 2000, threadAt: { i in forty.filter { $0 <= i }.count }, bound: "threads", rss: arenaSteps(starts: forty))
        let late = (0..<27).map { 1 + 3 * $0 } + (0..<13).map { 1440 + 2 * $0 }
        pooled("lazy pool: 27 threads early, the last 13 at 72% of the run", .plateau,
               "lazy-40-c40-jemalloc as the issue tells it: RSS steps exactly when the pool starts new threads (27 -> 40 at ~1450)",
               count: 2000, threadAt: { i in late.filter { $0 <= i }.count }, bound: "threads", rss: arenaSteps(starts: late))
        let spread = (0..<38).map { 1 + 52 * $0 }
        pooled("pool still adding a thread every 52 requests to the end", .stillGrowing,
               "a lazy pool under rising load: a step per new worker up to the last requests, flat between",
               count: 2000, threadAt: { i in spread.filter { $0 <= i }.count }, rss: arenaSteps(starts: spread))
        pooled("leak of 16 KiB a request under a pool filling over 200 requests", .linear,
               "the pool's steps, and the live memory of every request besides",
               count: 2000, threadAt: { i in forty.filter { $0 <= i }.count }, heap: { Double($0) * 16 * kib },
               rss: { i in arenaSteps(starts: forty)(i) + Double(i) * 16 * kib })
        pooled("leak of 64 KiB a request, a new thread for every request", .linear,
               "thread-per-request: every request a new worker, so the pool explains nothing",
               count: 1000, threadAt: { i in i + 1 }, heap: { Double($0) * 64 * kib }, rss: { Double($0) * 64 * kib })
        pooled("2 arenas at their cap, 40 threads sharing them", .plateau,
               "MALLOC_ARENA_MAX=2: both arenas reach their high water early; the 38 threads after share them",
               count: 2000, threadAt: { i in forty.filter { $0 <= i }.count }, arenaAt: { i in i >= 6 ? 2 : 1 }, arenaLimit: 2,
               bound: "arenas", rss: { i in (i >= 1 ? 12 * mib : 0) + (i >= 6 ? 9 * mib : 0) })

        // Runs too short to judge, whatever they show.
        add("3 requests, 100 MiB each", .inconclusive, "--requests 4 on eager-40", count: 4,
            rss: { Double($0) * 100 * mib }, heap: none)
        add("20 requests of a 1 MiB leak", .inconclusive, "below the 30 requests needed", count: 21,
            rss: { Double($0) * mib }, heap: { Double($0) * mib })
        add("29 flat requests", .inconclusive, "one short of the minimum", count: 30, rss: none, heap: none)
        return all
    }
}
