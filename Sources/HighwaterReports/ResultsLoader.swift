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

    static let requestKeys = JSONLineScanner.KeyTable([
        "i", "config", "route", "tid", "worker", "start_ns", "end_ns", "status", "rss_before", "rss_after",
        "heap_in_use_before", "heap_in_use_after", "error",
    ])

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
        let ok = JSONLineScanner.scan(base, from: start, to: end, keys: requestKeys) { key, v in
            switch key {
            case 0: i = Int(v.int64)
            case 3: tid = Int32(truncatingIfNeeded: v.int64)
            case 5: startNs = v.uint64
            case 6: endNs = v.uint64
            case 7: status = Int32(truncatingIfNeeded: v.int64)
            case 8: rb = v.uint64
            case 9: ra = v.uint64
            case 10: hb = v.uint64
            case 11: ha = v.uint64
            case 12: error = v.string
            default: break
            }
        }
        guard ok else { c.skippedLines += 1; return }
        if let error { c.errors[c.rssAfter.count] = error }
        c.index.append(i); c.tid.append(tid); c.startNs.append(startNs); c.endNs.append(endNs)
        c.status.append(status); c.rssBefore.append(rb); c.rssAfter.append(ra)
        c.heapBefore.append(hb); c.heapAfter.append(ha)
    }

    static let sampleKeys = JSONLineScanner.KeyTable([
        "t_ns", "pid", "rss", "rss_anon", "rss_file", "rss_shmem", "vm_size", "vm_hwm", "threads", "fds",
        "utime_ns", "stime_ns", "heap_in_use", "heap_free", "heap_system", "arenas", "tmp_used",
    ])

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
            var f = [UInt64](repeating: 0, count: 17)
            var present = [Bool](repeating: false, count: 17)
            let ok = JSONLineScanner.scan(base, from: start, to: end, keys: sampleKeys) { key, v in
                if v.kind != .null { f[key] = v.uint64; present[key] = true }
            }
            guard ok else { c.skippedLines += 1; return }
            c.tNs.append(f[0]); c.rss.append(f[2]); c.rssAnon.append(f[3]); c.rssFile.append(f[4]); c.rssShmem.append(f[5])
            c.threads.append(f[8]); c.fds.append(f[9])
            heap.append(f[12]); arenas.append(f[15]); tmp.append(f[16])
            hasHeap = hasHeap || present[12]; hasArenas = hasArenas || present[15]; hasTmp = hasTmp || present[16]
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
