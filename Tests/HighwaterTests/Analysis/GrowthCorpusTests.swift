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
            return LabelledSeries(name: r.name, expected: expected, origin: r.origin, rssBefore: r.rss_before, rss: r.rss,
                                  heap: r.heap, warmup: r.warmup)
        }
    }

    static var corpus: [LabelledSeries] { GrowthCorpus.labelled + recorded }

    static func classify(_ s: LabelledSeries) -> GrowthVerdict {
        GrowthAnalysis.verdict(rss: s.rss, rssBefore: s.rssBefore, heap: s.heap, warmup: s.warmup)
    }

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
                "\(series.name): expected \(series.expected.rawValue), got \(v.classification.rawValue) (\(series.origin); slope \(Int(v.slopeBytesPerRequest)) B/req, R² \(v.evidence.r_squared), plateau at \(v.plateauIndex.map(String.init) ?? "-"))")
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
