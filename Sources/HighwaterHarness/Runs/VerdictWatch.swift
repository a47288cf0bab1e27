@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterRecords
import HighwaterSystem
import Synchronization

/// `load.until: settled`: reads the run's records while the load goes on and says when its verdict has settled,
/// so the load can stop there instead of after a fixed count that is too short for one configuration and far
/// too long for another. Settled: past every minimum (requests, samples, time), neither inconclusive nor still
/// growing, and the same class and label at every check over the last third of the run (at least three checks):
/// a verdict that more of the same load has stopped changing. The load's request count and `load.max_duration`
/// cap it either way.
final class VerdictWatch: Sendable {
    /// Why the load stopped early: "settled" or "the cap"; nil while it goes on.
    private let state = Mutex<(stopped: String?, checks: [(seconds: Double, verdict: String)])>((nil, []))
    private let plan: RunPlan
    private let directory: String
    private let arenaLimit: Int
    private let cores: Int
    private let startedNs: UInt64

    /// The cap of `until: settled` when the scenario gives none.
    static let defaultMaxSeconds = 60.0

    init(plan: RunPlan, directory: String, arenaLimit: Int, cores: Int) {
        self.plan = plan; self.directory = directory; self.arenaLimit = arenaLimit; self.cores = cores
        startedNs = MonotonicClock.nanoseconds()
    }

    /// Whether the load should stop: the verdict settled, or the cap came. The cap is read here too, not only between
    /// checks: a check of a long, fast run can itself take seconds, and the cap must hold whatever it costs.
    var stopped: Bool {
        let elapsed = Double(MonotonicClock.nanoseconds() - startedNs) / 1e9
        let cap = plan.load.maxSeconds ?? Self.defaultMaxSeconds
        return state.withLock { s in
            if s.stopped == nil, elapsed >= cap { s.stopped = "the cap" }
            return s.stopped != nil
        }
    }

    /// A note for the summary: how the load ended and after how many checks.
    var note: Finding? {
        state.withLock { s in
            guard let why = s.stopped else { return nil }
            return .loadSettled(why == "settled", last: s.checks.last.map { ($0.verdict, $0.seconds) })
        }
    }

    /// Checks every second (every tenth of the time so far, once that is longer) until it stops the load or the
    /// task is cancelled. Each check reads only the lines the child appended since the last.
    func watch() async {
        let cap = plan.load.maxSeconds ?? Self.defaultMaxSeconds
        var requests = AppendedLines<RequestRecord>(path: directory + "/requests.jsonl")
        var samples = AppendedLines<SampleRecord>(path: directory + "/samples.jsonl")
        while !Task.isCancelled {
            let elapsed = Double(MonotonicClock.nanoseconds() - startedNs) / 1e9
            try? await Task.sleep(nanoseconds: UInt64(max(1, elapsed / 10) * 1e9))
            let now = Double(MonotonicClock.nanoseconds() - startedNs) / 1e9
            if now >= cap {
                state.withLock { $0.stopped = "the cap" }
                return
            }
            requests.readMore()
            samples.readMore()
            guard let verdict = check(requests: requests.records, samples: samples.records) else { continue }
            let settled = state.withLock { s -> Bool in
                s.checks.append((now, verdict))
                let recent = s.checks.filter { $0.seconds >= now * 2 / 3 }
                guard recent.count >= 3, Set(recent.map(\.verdict)).count == 1, !verdict.hasPrefix("-") else { return false }
                s.stopped = "settled"
                return true
            }
            if settled { return }
        }
    }

    /// The verdict so far as "class: label"; a leading "-" marks one that cannot settle (inconclusive, still
    /// growing). nil before any request.
    func check(requests: [RequestRecord], samples: [SampleRecord]) -> String? {
        guard !requests.isEmpty else { return nil }
        let s = RunSummarizer.summarize(plan: plan, runID: "", requests: requests, samples: samples,
                                        client: .init(latenciesMs: [], errors: 0, wallNs: 0), arenaLimit: arenaLimit, cores: cores)
        let c = s.growth.classification
        let open = c == .inconclusive || c == .stillGrowing || !c.hasData
        return (open ? "-" : "") + c.rawValue + ": " + (s.growth.label ?? "")
    }
}

/// The records of a JSON Lines file another process appends to, read a whole line at a time as they come.
struct AppendedLines<Record: Decodable> {
    let path: String
    var records: [Record] = []
    private var consumed = 0

    init(path: String) { self.path = path }

    mutating func readMore() {
        guard let bytes = try? FileTree.readBytes(path), bytes.count > consumed,
              let end = bytes[consumed...].lastIndex(of: UInt8(ascii: "\n")) else { return }
        records += RecordCoding.lines(Record.self, from: Array(bytes[consumed...end]))
        consumed = end + 1
    }
}
