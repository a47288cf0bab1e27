import FoundationEssentials
import HighwaterRecords
import HighwaterSystem

/// The requests of one run as columns, in file (completion) order: a million `RequestRecord`s with
/// their strings would cost far more memory and time than the figures the report draws.
package struct RequestColumns: Sendable {
    package var index: [Int] = []
    package var tid: [Int32] = []
    package var startNs: [UInt64] = []
    package var endNs: [UInt64] = []
    package var status: [Int32] = []
    package var rssBefore: [UInt64] = []
    package var rssAfter: [UInt64] = []
    package var heapBefore: [UInt64] = []
    package var heapAfter: [UInt64] = []
    /// Error messages by position; most requests have none.
    package var errors: [Int: String] = [:]
    /// Lines that were not a flat JSON object (a run cut short writes half a line).
    package var skippedLines = 0

    package init() {}
    package var count: Int { rssAfter.count }

    mutating func reserve(_ n: Int) {
        index.reserveCapacity(n); tid.reserveCapacity(n); startNs.reserveCapacity(n); endNs.reserveCapacity(n)
        status.reserveCapacity(n); rssBefore.reserveCapacity(n); rssAfter.reserveCapacity(n)
        heapBefore.reserveCapacity(n); heapAfter.reserveCapacity(n)
    }
}

/// The samples of one run as columns; optional fields are nil when no sample carried them.
package struct SampleColumns: Sendable {
    package var tNs: [UInt64] = []
    package var rss: [UInt64] = []
    package var rssAnon: [UInt64] = []
    package var rssFile: [UInt64] = []
    package var rssShmem: [UInt64] = []
    package var threads: [UInt64] = []
    package var fds: [UInt64] = []
    package var heapInUse: [UInt64]?
    package var arenas: [UInt64]?
    package var tmpUsed: [UInt64]?
    package var skippedLines = 0

    package init() {}
    package var count: Int { tNs.count }
}

/// One run: its summary and, when present, its raw data.
package struct RunData: Sendable {
    package var summary: RunSummary
    /// `DIR/<scenario>/<run_id>`.
    package var directory: String
    package var requests: RequestColumns
    package var samples: SampleColumns
}

extension RunData {
    /// Where the run's allocation profiles are, first found first: a hosted run's beside it; a record's, made for the
    /// target's whole life, in the directory of its configuration of a scenario, or of the record (the phase's parent).
    var profileFolders: [String] {
        let parent = FileTree.directory(of: directory)
        return [directory] + (summary.configuration?.config.map { [parent + "/" + $0] } ?? []) + [parent]
    }
}

/// A results directory as the report sees it.
package struct LoadedResults: Sendable {
    package var directory: String
    package var summary: ResultsSummary
    package var runs: [RunData]
}

/// Reads a results directory: `summary.json` with JSONDecoder, the JSON Lines with a hand scanner.
package enum ResultsLoader {
    /// - Parameter raw: read each run's requests and samples too; without them only the summaries are read (a comparison
    ///   needs no more).
    package static func load(resultsDirectory dir: String, raw: Bool = true) throws -> LoadedResults {
        let summaryPath = dir + "/summary.json"
        guard ReportFile.isDirectory(dir) else { throw ReportError("\(dir): no such results directory") }
        guard ReportFile.exists(summaryPath) || (try? Syscall.linkStatus(summaryPath)) != nil else {
            if ReportFile.exists(dir + "/samples.jsonl") {
                throw ReportError("\(summaryPath) is missing: \(dir) holds samples.jsonl from a `highwater sample` that wrote no verdict (an older version); sample again with --out \(dir) to judge it")
            }
            throw ReportError("\(summaryPath) is missing: run `highwater run` with --out \(dir) first")
        }
        let summary: ResultsSummary
        let bytes = try ReportFile.readAll(summaryPath)
        do {
            summary = try JSONDecoder().decode(ResultsSummary.self, from: Data(bytes))
        } catch {
            throw ReportError("\(summaryPath) is not a Highwater results summary: \(DecodingExplanation.describe(error, in: bytes)); run `highwater run --out \(dir)` again to rewrite it")
        }
        var runs: [RunData] = []
        for run in summary.runs {
            // The names come from the file: each must stay one entry inside DIR, or a forged summary reads and
            // writes elsewhere.
            for (field, name) in [("scenario", run.scenario), ("run_id", run.run_id)] where !isOneName(name) {
                throw ReportError("\(summaryPath) is not a Highwater results summary: a run's \(field) \"\(name)\" is not one name inside \(dir) (it must not be empty, . or .., or hold a /); run `highwater run --out \(dir)` again to rewrite it")
            }
            // `highwater sample` keeps its one run's files at the top of its directory.
            let nested = dir + "/" + run.scenario + "/" + run.run_id
            let runDir = run.scenario == "sample" && !ReportFile.isDirectory(nested) ? dir : nested
            let requestsPath = runDir + "/requests.jsonl", samplesPath = runDir + "/samples.jsonl"
            let requests = raw && ReportFile.exists(requestsPath) ? try loadRequests(requestsPath, expected: run.requests) : RequestColumns()
            let samples = raw && ReportFile.exists(samplesPath) ? try loadSamples(samplesPath) : SampleColumns()
            runs.append(RunData(summary: run, directory: runDir, requests: requests, samples: samples))
        }
        return LoadedResults(directory: dir, summary: summary, runs: runs)
    }

    static func isOneName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.utf8.contains(0)
    }

    static let requestKeys = JSONLineScanner.KeyTable<RequestRecord.Field>()

    package static func loadRequests(_ path: String, expected: Int = 0) throws -> RequestColumns {
        var c = RequestColumns()
        c.reserve(expected)
        try ReportFile.forEachLine(path) { base, start, end in appendRequest(to: &c, base, start, end) }
        return c
    }

    /// The requests in JSON Lines already in memory, fed to the line splitter in chunks of `chunkSize` bytes
    /// (how the fuzzer reaches the same code a file read takes).
    package static func requests(inJSONLines bytes: UnsafeBufferPointer<UInt8>, chunkSize: Int = 4 << 20) -> RequestColumns {
        var c = RequestColumns()
        forEachLine(bytes, chunkSize: chunkSize) { base, start, end in appendRequest(to: &c, base, start, end) }
        return c
    }

    static func appendRequest(to c: inout RequestColumns, _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) {
        var i = 0, tid: Int32 = 0, status: Int32 = 0
        var startNs: UInt64 = 0, endNs: UInt64 = 0, rb: UInt64 = 0, ra: UInt64 = 0, hb: UInt64 = 0, ha: UInt64 = 0
        var error: String?
        let ok = JSONLineScanner.scan(base, from: start, to: end, keys: requestKeys) { field, v in
            switch field {
            case .i: i = Int(v.int64)
            case .tid: tid = Int32(truncatingIfNeeded: v.int64)
            case .start_ns: startNs = v.uint64
            case .end_ns: endNs = v.uint64
            case .status: status = Int32(truncatingIfNeeded: v.int64)
            case .rss_before: rb = v.uint64
            case .rss_after: ra = v.uint64
            case .heap_in_use_before: hb = v.uint64
            case .heap_in_use_after: ha = v.uint64
            case .error: error = v.string
            default: break
            }
        }
        guard ok else { c.skippedLines += 1; return }
        if let error { c.errors[c.rssAfter.count] = error }
        c.index.append(i); c.tid.append(tid); c.startNs.append(startNs); c.endNs.append(endNs)
        c.status.append(status); c.rssBefore.append(rb); c.rssAfter.append(ra)
        c.heapBefore.append(hb); c.heapAfter.append(ha)
    }

    static let sampleKeys = JSONLineScanner.KeyTable<SampleRecord.Field>()

    package static func loadSamples(_ path: String) throws -> SampleColumns {
        var samples = SampleAccumulator()
        try ReportFile.forEachLine(path) { base, start, end in samples.add(base, start, end) }
        return samples.columns
    }

    /// The samples in JSON Lines already in memory, split as `requests(inJSONLines:chunkSize:)` splits them.
    package static func samples(inJSONLines bytes: UnsafeBufferPointer<UInt8>, chunkSize: Int = 4 << 20) -> SampleColumns {
        var samples = SampleAccumulator()
        forEachLine(bytes, chunkSize: chunkSize) { base, start, end in samples.add(base, start, end) }
        return samples.columns
    }

    private static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>, chunkSize: Int, _ body: (UnsafePointer<UInt8>, Int, Int) -> Void) {
        var splitter = LineSplitter()
        let step = max(1, chunkSize)
        var offset = 0
        while offset < bytes.count {
            let n = min(step, bytes.count - offset)
            splitter.feed(UnsafeBufferPointer(rebasing: bytes[offset..<(offset + n)]), body)
            offset += n
        }
        splitter.end(body)
    }

    /// Sample lines gathered into columns; the optional columns exist only when some sample carried them.
    struct SampleAccumulator {
        private var c = SampleColumns()
        private var heap: [UInt64] = [], arenas: [UInt64] = [], tmp: [UInt64] = []
        private var hasHeap = false, hasArenas = false, hasTmp = false

        mutating func add(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) {
            var tNs: UInt64 = 0, rss: UInt64 = 0, anon: UInt64 = 0, file: UInt64 = 0, shmem: UInt64 = 0
            var threads: UInt64 = 0, fds: UInt64 = 0
            // nil until a line carries the field (null does not count).
            var heapInUse: UInt64?, arenaCount: UInt64?, tmpUsed: UInt64?
            let ok = JSONLineScanner.scan(base, from: start, to: end, keys: sampleKeys) { field, v in
                guard v.kind != .null else { return }
                switch field {
                case .t_ns: tNs = v.uint64
                case .rss: rss = v.uint64
                case .rss_anon: anon = v.uint64
                case .rss_file: file = v.uint64
                case .rss_shmem: shmem = v.uint64
                case .threads: threads = v.uint64
                case .fds: fds = v.uint64
                case .heap_in_use: heapInUse = v.uint64
                case .arenas: arenaCount = v.uint64
                case .tmp_used: tmpUsed = v.uint64
                default: break
                }
            }
            guard ok else { c.skippedLines += 1; return }
            c.tNs.append(tNs); c.rss.append(rss); c.rssAnon.append(anon); c.rssFile.append(file); c.rssShmem.append(shmem)
            c.threads.append(threads); c.fds.append(fds)
            heap.append(heapInUse ?? 0); arenas.append(arenaCount ?? 0); tmp.append(tmpUsed ?? 0)
            hasHeap = hasHeap || heapInUse != nil; hasArenas = hasArenas || arenaCount != nil; hasTmp = hasTmp || tmpUsed != nil
        }

        var columns: SampleColumns {
            var out = c
            if hasHeap { out.heapInUse = heap }
            if hasArenas { out.arenas = arenas }
            if hasTmp { out.tmpUsed = tmp }
            return out
        }
    }
}
