import HighwaterAnalysis
import HighwaterRecords
import HighwaterSynthetic
import HighwaterSystem
import Testing

/// The classifier against its labelled corpus: the seeded synthetic series of HighwaterSynthetic and the
/// recorded series of real runs in Corpus/ (one JSON file each, made from a run's requests.jsonl).
@Suite("Growth corpus")
struct GrowthCorpusTests {
    static let directory = "Tests/HighwaterTests/Analysis/Corpus"

    /// The recorded file's fields, as written from a run's requests in completion order.
    struct Recorded: Decodable {
        var name: String
        var expected: String
        var origin: String
        var warmup: Int
        var rss_before: UInt64
        var rss: [UInt64]
        var heap: [UInt64]?
        /// The pool at each position (worker threads, or the process's threads for a sampled series; glibc's
        /// arenas), glibc's arena cap, the wall time after the warm-up, whether the positions are samples, and
        /// what should bound a plateau ("threads" or "arenas").
        var threads: [UInt64]?
        var arenas: [UInt64]?
        var arena_limit: Int?
        var seconds: Double?
        var by_sample: Bool?
        var bound: String?
    }

    /// Recorded series; a file that cannot be read becomes a series with no data, which the test then fails by name.
    static var recorded: [LabelledSeries] {
        let files = (try? FileTree.list(directory, suffixes: [".json"])) ?? []
        return files.sorted().map { path in
            guard let bytes = try? FileTree.readBytes(path), let r = try? RecordCoding.decode(Recorded.self, from: bytes),
                  let expected = GrowthClass(rawValue: r.expected)
            else {
                return LabelledSeries(name: path + " (unreadable)", expected: .plateau, origin: path, rssBefore: 0, rss: [], heap: nil)
            }
            // A run's threads are its workers (from its requests); a sampled program's, all of its threads.
            let pool = r.threads != nil || r.arenas != nil
                ? PoolSeries(threads: r.threads, arenas: r.arenas, arenaLimit: r.arena_limit, threadsAreWorkers: !(r.by_sample ?? false)) : nil
            return LabelledSeries(name: r.name, expected: expected, origin: r.origin, rssBefore: r.rss_before, rss: r.rss,
                                  heap: r.heap, warmup: r.warmup, pool: pool, seconds: r.seconds, bySample: r.by_sample ?? false,
                                  expectedBound: r.bound)
        }
    }

    static var corpus: [LabelledSeries] { GrowthCorpus.labelled + recorded }

    static func classify(_ s: LabelledSeries) -> GrowthVerdict { s.verdict }

    @Test("the corpus is large enough and covers every shape the issue names")
    func corpusSize() {
        #expect(GrowthCorpus.labelled.count >= 25)
        #expect(Self.recorded.count >= 8, "recorded series of the shipped scenarios in \(Self.directory)")
        let classes = Set(Self.corpus.map(\.expected))
        for needed: GrowthClass in [.stable, .plateau, .linear, .retention, .stillGrowing, .inconclusive] {
            #expect(classes.contains(needed), "no series labelled \(needed.rawValue)")
        }
    }

    @Test("every labelled series gets its class", arguments: GrowthCorpusTests.corpus)
    func labelled(_ series: LabelledSeries) {
        let v = Self.classify(series)
        #expect(v.classification == series.expected,
                "\(series.name): expected \(series.expected.rawValue), got \(v.classification.rawValue) (\(series.origin); slope \(Int(v.slopeBytesPerRequest)) B/req, R² \(v.evidence.r_squared), plateau at \(v.plateauIndex.map(String.init) ?? "-"), pool \(v.evidence.pool_bound ?? "-") between \(v.evidence.pool_between_share ?? -1))")
        if let bound = series.expectedBound {
            #expect(v.evidence.pool_bound == bound, "\(series.name): bounded by \(v.evidence.pool_bound ?? "nothing the pool did"), expected \(bound)")
        }
    }

    @Test("the corpus holds series recorded from real runs with their pool, under every allocator and from `sample`")
    func recordedPools() {
        let pooled = Self.recorded.filter { $0.pool != nil }
        #expect(pooled.count >= 10, "recorded series with threads or arenas in \(Self.directory)")
        #expect(pooled.contains { $0.bySample }, "a series recorded by `highwater sample`")
        for allocator in ["jemalloc", "tcmalloc", "MALLOC_ARENA_MAX"] {
            #expect(pooled.contains { $0.origin.contains(allocator) }, "a recorded series under \(allocator)")
        }
    }

    /// The table for a closing note: series, expected, got. Written to .build/test-artifacts/growth-corpus.md.
    @Test("the corpus table names every series whose class is wrong")
    func table() throws {
        var wrong: [String] = []
        var text = "| series | expected | got | evidence |\n|---|---|---|---|\n"
        for s in Self.corpus {
            let v = Self.classify(s)
            let e = v.evidence
            var evidence = "\(e.requests_counted) req, slope \(Quantity.formatBytes(v.slopeBytesPerRequest))/req ± \(Quantity.formatBytes(e.slope_ci95_bytes_per_request)), R² \(Quantity.format(e.r_squared))"
            if let p = v.plateauIndex { evidence += ", plateau at \(p)" }
            if let h = e.heap_growth_bytes { evidence += ", heap \(Quantity.formatBytes(h))" }
            if v.classification != s.expected { wrong.append(s.name) }
            text += "| \(s.name) | \(s.expected.rawValue) | \(v.classification.rawValue)\(v.classification == s.expected ? "" : " ✗") | \(evidence) |\n"
        }
        try FileTree.createDirectory(".build/test-artifacts")
        try FileTree.writeAtomically(text, to: ".build/test-artifacts/growth-corpus.md")
        #expect(wrong.isEmpty, "misclassified: \(wrong.joined(separator: "; ")) (table in .build/test-artifacts/growth-corpus.md)")
    }
}
