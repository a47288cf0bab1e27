import HighwaterRecords
import HighwaterSystem

/// Two results directories side by side (`highwater diff A B`, `check --baseline`): per configuration both share, each
/// figure before and after with its ratio, and whether the change goes beyond the noise: the spread the repeats of the
/// configuration showed (`repeat:`), and at least `tolerance` of the figure. Read from the stored summaries only.
package struct ResultsComparison: Sendable {
    package enum Figure: String, Sendable, CaseIterable {
        case steadyRSS = "steady RSS", growth, peak = "peak RSS", threads, arenas, liveHeap = "live heap", p99, throughput = "req/s"

        /// Whether a smaller value is the better one.
        var lowerIsBetter: Bool { self != .throughput }
        /// Memory figures decide a configuration's verdict and fail `check --baseline`; latency and throughput are
        /// shown with their ratio but move with the machine and its load.
        package var isMemory: Bool { self != .p99 && self != .throughput }
        var isBytes: Bool { self == .steadyRSS || self == .growth || self == .peak || self == .liveHeap }
        var isCount: Bool { self == .threads || self == .arenas }

        func text(_ v: Double) -> String {
            if isBytes { return Quantity.formatBytes(v) }
            if self == .p99 { return Quantity.format(v) + " ms" }
            return Quantity.format(v)
        }
    }

    package enum Change: String, Sendable {
        case better, worse, unchanged
    }

    /// One figure of one configuration, before (A) and after (B), each the median over its repeats.
    package struct Delta: Sendable {
        package var figure: Figure
        package var before: Double
        package var after: Double
        /// The largest spread (highest less lowest) either side's repeats showed; 0 without repeats.
        package var spread: Double
        /// The least change that counts: the spread, or the tolerance of the figure (of the steady RSS for growth).
        package var threshold: Double
        package var change: Change

        package var ratio: Double? { before != 0 ? after / before : nil }
        package var ratioText: String { ratio.map { "×" + Quantity.format($0, significant: 3) } ?? "—" }
    }

    package struct Configuration: Sendable {
        package var scenario: String
        package var config: String
        package var repeatsBefore: Int
        package var repeatsAfter: Int
        package var deltas: [Delta]
        package var sites: [SiteDelta]

        /// Worse when a memory figure got worse beyond its threshold, better when one got better and none worse.
        package var change: Change {
            let memory = deltas.filter(\.figure.isMemory)
            if memory.contains(where: { $0.change == .worse }) { return .worse }
            if memory.contains(where: { $0.change == .better }) { return .better }
            return .unchanged
        }

        package var name: String { scenario + "/" + config }
    }

    package var before: String
    package var after: String
    package var tolerance: Double
    package var configurations: [Configuration]
    /// Configurations only one side has.
    package var onlyBefore: [String]
    package var onlyAfter: [String]

    /// The bytes a byte figure must move at least, whatever the tolerance: RSS moves by pages and samples.
    static let byteFloor = 1024.0 * 1024

    /// Compares the results in `before` (the baseline) with those in `after`. Throws a `ReportError` of kind `.input`
    /// when either is not a results directory (nor a run's), when they come from different Highwater versions, or
    /// when they have no configuration in common.
    package init(before: String, after: String, tolerance: Double = 0.10) throws {
        let a = try Self.load(before), b = try Self.load(after)
        guard a.version == b.version else {
            throw ReportError("\(before) was written by highwater \(a.version) and \(after) by \(b.version): their figures are not "
                              + "measured alike; compare results of one version (run both again with this one)")
        }
        self.before = before; self.after = after; self.tolerance = tolerance
        var groupsA = Self.groups(a.runs), groupsB = Self.groups(b.runs)
        // Two single runs (two run directories) compare whatever their names.
        if groupsA.order.count == 1, groupsB.order.count == 1, groupsA.order != groupsB.order, a.single || b.single {
            let key = groupsA.order[0]
            groupsB = (order: [key], runs: [key: groupsB.runs[groupsB.order[0]]!])
        }
        let common = groupsA.order.filter { groupsB.runs[$0] != nil }
        onlyBefore = groupsA.order.filter { groupsB.runs[$0] == nil }.map(Self.display)
        onlyAfter = groupsB.order.filter { groupsA.runs[$0] == nil }.map(Self.display)
        guard !common.isEmpty else {
            throw ReportError("\(before) and \(after) have no configuration in common (\(before): "
                              + Self.list(groupsA.order.map(Self.display)) + "; \(after): " + Self.list(groupsB.order.map(Self.display))
                              + "); compare two results of the same scenarios")
        }
        configurations = common.map { key in
            let runsA = groupsA.runs[key]!, runsB = groupsB.runs[key]!
            return Configuration(scenario: runsA[0].data.summary.scenario, config: runsA[0].data.summary.config,
                                 repeatsBefore: runsA.count, repeatsAfter: runsB.count,
                                 deltas: Self.deltas(runsA, runsB, tolerance: tolerance),
                                 sites: SiteDelta.compare(runsA.last!.data, runsB.last!.data))
        }
        _ = groupsA
    }

    static func display(_ key: String) -> String { key.replacingOccurrences(of: "\u{0}", with: "/") }

    static func list(_ names: [String]) -> String {
        names.count <= 6 ? names.joined(separator: ", ") : names.prefix(6).joined(separator: ", ") + " and \(names.count - 6) more"
    }

    struct Side {
        var version: String
        var runs: [(data: RunData, facts: RunFacts)]
        /// A run directory, not a results directory.
        var single: Bool
    }

    /// A results directory (its summary.json lists runs), or one run's directory (its summary.json is that run's).
    static func load(_ path: String) throws -> Side {
        do {
            let results = try ResultsLoader.load(resultsDirectory: path, raw: false)
            return Side(version: results.summary.highwater_version, runs: results.runs.map { ($0, RunFacts($0)) }, single: false)
        } catch let error as ReportError {
            // One run's directory: its summary is a RunSummary; the version is that of the results directory above it.
            let summaryPath = path + "/summary.json"
            guard ReportFile.exists(summaryPath), let bytes = try? ReportFile.readAll(summaryPath),
                  let run = try? RecordCoding.decode(RunSummary.self, from: bytes) else {
                throw ReportError(error.message + (ReportFile.isDirectory(path) ? "; give a results directory (`highwater run --out DIR`) or one run's directory" : ""))
            }
            let parent = FileTree.directory(of: FileTree.directory(of: path))
            let version = (try? ReportFile.readAll(parent + "/summary.json")).flatMap { try? RecordCoding.decode(ResultsSummary.self, from: $0) }?.highwater_version ?? "unknown"
            let data = RunData(summary: run, directory: path, requests: RequestColumns(), samples: SampleColumns())
            return Side(version: version, runs: [(data, RunFacts(data))], single: true)
        }
    }

    /// Runs by scenario and configuration (repeats together), in the order first seen.
    static func groups(_ runs: [(data: RunData, facts: RunFacts)]) -> (order: [String], runs: [String: [(data: RunData, facts: RunFacts)]]) {
        var order: [String] = []
        var byKey: [String: [(data: RunData, facts: RunFacts)]] = [:]
        for run in runs where run.data.summary.growth.classification.hasData {
            let key = run.data.summary.scenario + "\u{0}" + run.data.summary.config
            if byKey[key] == nil { order.append(key) }
            byKey[key, default: []].append(run)
        }
        return (order, byKey)
    }

    static func value(_ figure: Figure, _ run: (data: RunData, facts: RunFacts)) -> Double? {
        let s = run.data.summary, f = run.facts
        switch figure {
        case .steadyRSS: return Double(f.steady)
        case .growth: return Double(f.growth)
        case .peak: return Double(s.rss_peak)
        case .threads: return Double(s.threads_max)
        case .arenas: return s.arenas_max.map(Double.init)
        // Zero is a heap nobody read (another allocator, counters off), not an empty one.
        case .liveHeap: return (s.heap_live_end ?? s.growth.evidence?.heap_steady_bytes).flatMap { $0 > 0 ? Double($0) : nil }
        case .p99: return s.latency_ms.p99
        case .throughput: return f.throughput
        }
    }

    static func deltas(_ a: [(data: RunData, facts: RunFacts)], _ b: [(data: RunData, facts: RunFacts)], tolerance: Double) -> [Delta] {
        let steadyBefore = RepetitionSpread.Range(a.compactMap { value(.steadyRSS, $0) })?.median ?? 0
        return Figure.allCases.compactMap { figure in
            guard let ra = RepetitionSpread.Range(a.compactMap { value(figure, $0) }),
                  let rb = RepetitionSpread.Range(b.compactMap { value(figure, $0) }) else { return nil }
            let spread = max(ra.high - ra.low, rb.high - rb.low)
            // Growth can be near zero on both sides: its change is weighed against the level it grows from.
            var threshold = max(spread, tolerance * (figure == .growth ? steadyBefore : abs(ra.median)))
            if figure.isBytes { threshold = max(threshold, byteFloor) }
            if figure.isCount { threshold = max(threshold, 1) }
            let moved = rb.median - ra.median
            var change = Change.unchanged
            if abs(moved) > threshold { change = (moved < 0) == figure.lowerIsBetter ? .better : .worse }
            return Delta(figure: figure, before: ra.median, after: rb.median, spread: spread, threshold: threshold, change: change)
        }
    }

    package var better: [Configuration] { configurations.filter { $0.change == .better } }
    package var worse: [Configuration] { configurations.filter { $0.change == .worse } }
}
