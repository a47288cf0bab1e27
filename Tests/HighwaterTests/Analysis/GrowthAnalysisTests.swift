import HighwaterAnalysis
import HighwaterRecords
import Testing

@Suite("Growth analysis arithmetic")
struct GrowthAnalysisTests {
    let mib: UInt64 = 1 << 20

    @Test func flatIsStable() {
        let rss = (0..<200).map { _ in 30 * mib }
        let v = GrowthAnalysis.verdict(rss: rss)
        #expect(v.classification == .stable)
        #expect(v.growth == 0)
    }

    @Test func stepsThenFlatIsPlateau() {
        // 14 steps of 8 MiB, one per new thread, then flat for 1986 requests.
        let rss = (0..<2000).map { i in 30 * mib + UInt64(min(i, 14)) * 8 * mib }
        let v = GrowthAnalysis.verdict(rss: rss)
        #expect(v.classification == .plateau)
        #expect(v.plateauIndex == 14)
        #expect(v.growth == Int64(14 * 8 * mib))
        #expect(v.evidence.plateau_share! > 0.99)
    }

    @Test func steadyClimbIsLinear() {
        let rss = (0..<2000).map { i in 30 * mib + UInt64(i) * 64 * 1024 }
        let v = GrowthAnalysis.verdict(rss: rss)
        #expect(v.classification == .linear)
        #expect(abs(v.slopeBytesPerRequest - 65536) < 1)
        #expect(v.plateauIndex == nil)
    }

    @Test func noisyPlateau() {
        var seed: UInt64 = 42
        func noise() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return (seed >> 33) % (256 * 1024) }
        let rss = (0..<1000).map { i in 30 * mib + UInt64(min(i, 40)) * 2 * mib + noise() }
        let v = GrowthAnalysis.verdict(rss: rss)
        #expect(v.classification == .plateau)
        #expect((39...41).contains(v.plateauIndex ?? -1))
    }

    @Test("40 equal steps put the plateau at 40, 100 at 100")
    func equalSteps() {
        for steps in [40, 100] {
            let rss = (0..<1000).map { i in 30 * mib + UInt64(min(i, steps)) * 2 * mib }
            let v = GrowthAnalysis.verdict(rss: rss)
            #expect(v.classification == .plateau)
            #expect(v.plateauIndex == steps, "\(steps) steps")
        }
    }

    @Test("a dip late in the level does not move the plateau")
    func lateDip() {
        var rss = (0..<300).map { i in 30 * mib + UInt64(min(i, 40)) * 2 * mib }
        rss[290] -= 30 * mib
        let v = GrowthAnalysis.verdict(rss: rss)
        #expect(v.classification == .plateau)
        #expect(v.plateauIndex == 40)
    }

    @Test("a level reached in the last stretch is still growing, not a plateau")
    func lateLevelIsStillGrowing() {
        let rss = (0..<2000).map { i in 30 * mib + UInt64(min(i, 1990)) * 64 * 1024 }
        let v = GrowthAnalysis.verdict(rss: rss)
        #expect(v.classification != .plateau)
        #expect(v.plateauIndex == nil)
    }

    @Test("too few requests or samples are inconclusive, with the reason")
    func minimums() {
        let three = GrowthAnalysis.verdict(rss: [30 * mib, 100 * mib, 200 * mib, 300 * mib])
        #expect(three.classification == .inconclusive)
        #expect(three.evidence.reason == "not enough requests to judge (3 of the 30 needed)")
        let fewSamples = GrowthAnalysis.verdict(rss: (0..<100).map { UInt64($0) * mib }, samples: 4)
        #expect(fewSamples.evidence.reason == "not enough samples to judge (4 of the 10 needed)")
        var custom = GrowthAnalysis.Thresholds()
        custom.minimums.requests = 3
        #expect(GrowthAnalysis.verdict(rss: [30 * mib, 31 * mib, 32 * mib, 33 * mib], thresholds: custom).classification != .inconclusive)
    }

    @Test("warmup 0 counts the first request against the RSS before it")
    func warmupZero() {
        let rss = [30 * mib + 64 * mib] + (1..<100).map { _ in 30 * mib + 64 * mib }
        #expect(GrowthAnalysis.verdict(rss: rss, rssBefore: 30 * mib, warmup: 0).evidence.baseline_bytes == 30 * mib)
        #expect(GrowthAnalysis.verdict(rss: rss, rssBefore: 30 * mib, warmup: 1).evidence.baseline_bytes == 94 * mib)
    }

    @Test func edgeCases() {
        #expect(GrowthAnalysis.verdict(rss: []).classification == .inconclusive)
        #expect(GrowthAnalysis.verdict(rss: [5 * mib]).classification == .inconclusive)
        #expect(GrowthAnalysis.leastSquaresSlope([1]) == 0)
        #expect(GrowthAnalysis.leastSquaresSlope([1, 3, 5]) == 2)
    }

    @Test func percentiles() {
        let l = Percentiles.of((1...100).map(Double.init))
        #expect(l.p50 == 50 && l.p90 == 90 && l.p99 == 99 && l.max == 100)
        #expect(Percentiles.of([]) == .zero)
    }

    @Test func quantities() {
        #expect(Quantity.bytes("64 MiB") == 64 << 20)
        #expect(Quantity.bytes("1GB") == 1_000_000_000)
        #expect(Quantity.bytes("4096") == 4096)
        #expect(Quantity.bytes("-1 MiB") == nil)
        #expect(Quantity.bytes("12 parsecs") == nil)
        #expect(Quantity.nanoseconds("10ms") == 10_000_000)
        #expect(Quantity.nanoseconds("1.5s") == 1_500_000_000)
        #expect(Quantity.nanoseconds("10") == nil)
        #expect(Quantity.formatBytes(UInt64(1536 << 20)) == "1.5 GiB")
        #expect(Quantity.formatBytes(Int64(-2048)) == "-2 KiB")
    }

    @Test func jsonLinesAreValidAndComplete() throws {
        var line = JSONLine()
        let r = RequestRecord(i: 3, config: "eager-40", route: "/work", tid: 77, worker: "hw-eager-\"1\"", start_ns: 1,
                              end_ns: 2, status: 200, rss_before: 10, rss_after: 20, heap_in_use_before: 5,
                              heap_in_use_after: 6, error: nil)
        r.write(to: &line)
        let text = String(decoding: line.bytes, as: UTF8.self)
        #expect(text.hasSuffix("}\n"))
        #expect(text.contains("\"worker\":\"hw-eager-\\\"1\\\"\""))
        #expect(text.contains("\"error\":null"))
    }
}
