/// One run of one configuration, as `summary.json` lists it. Field names are an interface
/// (ARCHITECTURE.md, "Interfaces"): keep them.
package struct RunSummary: Codable, Equatable, Sendable {
    package struct Growth: Codable, Equatable, Sendable {
        package var classification: GrowthClass
        package var slope_bytes_per_request: Double
        /// The request (index `i`) from which RSS stayed at its final level; nil when it never settled.
        package var first_plateau_request: Int?
        /// The evidence the class rests on, stored so every report renders it without recomputing.
        package var evidence: GrowthEvidence?
        /// "plateau at 16 threads", "not enough requests to judge (3 of the 30 needed)": the badge's text.
        package var label: String?
        /// What the memory did, with the figures and the mechanism measured.
        package var finding: String?
        /// What to change; nil when nothing needs doing. Never a setting the run already has.
        package var advice: String?
        package init(classification: GrowthClass, slope_bytes_per_request: Double, first_plateau_request: Int?,
                    evidence: GrowthEvidence? = nil) {
            self.classification = classification
            self.slope_bytes_per_request = slope_bytes_per_request
            self.first_plateau_request = first_plateau_request
            self.evidence = evidence
        }
    }

    package struct Latency: Codable, Equatable, Sendable {
        package var p50: Double
        package var p90: Double
        package var p99: Double
        package var max: Double
        package init(p50: Double, p90: Double, p99: Double, max: Double) {
            self.p50 = p50; self.p90 = p90; self.p99 = p99; self.max = max
        }
        package static let zero = Latency(p50: 0, p90: 0, p99: 0, max: 0)
    }

    package struct Expectation: Codable, Equatable, Sendable {
        package var text: String
        package var passed: Bool
        package var observed: String
        package init(text: String, passed: Bool, observed: String) {
            self.text = text; self.passed = passed; self.observed = observed
        }
    }

    package var scenario: String
    package var run_id: String
    package var config: String
    package var requests: Int
    package var errors: Int
    package var rss_start: UInt64
    package var rss_end: UInt64
    package var rss_peak: UInt64
    /// RSS at the end minus RSS after the warm-up, in bytes (negative when it shrank).
    package var rss_growth: Int64
    package var threads_max: Int
    /// glibc's arenas at most; nil where the child ran on another allocator (no glibc arenas to count).
    package var arenas_max: Int?
    package var growth: Growth
    package var latency_ms: Latency
    package var throughput_rps: Double
    package var expectations: [Expectation]

    // What Highwater adds beyond the interface fields.
    /// How the configuration was set up: executor, workload, environment, load.
    package var configuration: RunConfiguration?
    /// Median RSS over the last tenth of requests: the level it settled at.
    package var rss_steady: UInt64?
    /// Distinct worker threads that ran requests, and how many of them had joined when RSS settled.
    package var worker_threads: Int?
    package var plateau_threads: Int?
    /// Arenas when RSS settled (main arena included).
    package var plateau_arenas: Int?
    /// Growth divided by the worker threads that arrived while it grew.
    package var growth_per_thread: Double?
    /// Growth divided by the arenas created while it grew.
    package var growth_per_arena: Double?
    /// The request at which the arena count first reached glibc's limit.
    package var arena_limit_request: Int?
    /// Requests that were the first on their worker thread.
    package var first_on_thread_requests: Int?
    /// Mean RSS delta of those first requests and of the others.
    package var rss_delta_first_on_thread: Double?
    package var rss_delta_other: Double?
    /// The largest RSS the samples and request records saw; `rss_peak` is the larger of it and the kernel's
    /// VmHWM, and `rss_peak_source` says which (`VmHWM` when a peak fell between samples, else `sampled`).
    package var rss_peak_sampled: UInt64?
    package var rss_peak_source: String?
    /// The temp dir's filesystem as the watch saw it (1 ms readings): capacity, peak use, when and how long full.
    package var temp_dir: WatchedFilesystem?
    /// Set when the run reached its time limit and its child was stopped: the limit, in seconds.
    package var timed_out_after_s: Double?
    /// Why the run could not be carried out at all (its set-up failed before any load); nil when it ran.
    package var run_error: String?
    /// How the child ended: "exit 0", "signal 9 (SIGKILL)", …
    package var child_exit: String?
    /// Samples and request records the child could not write (a full disk, …); absent when none were lost.
    package var records_lost: Int?
    package var stderr_tail: String?
    /// Sentences computed from the data (`findings` gives each its kind; add one with `note(_:)`).
    package var notes: [String]?
    /// The kind of each note, in the same order (`Finding.Kind`); absent when no note has a kind a reader looks for.
    package var note_kinds: [String]?
    /// Figures a workload adds (upload bytes, temp dir figures, …), each in its unit.
    package var workload: WorkloadFigures?
    /// The allocator the child ran on: "glibc", "jemalloc", "tcmalloc". Arena and heap figures exist for glibc only.
    package var allocator: String?
    /// glibc's arenas at the end of the run, from malloc_info: each one's high water (bytes it ever took from the system).
    package var arena_high_water: [UInt64]?
    /// What the machine was doing when the run started (pending writes, load), after settling.
    package var started_from: StartingPoint?
    /// `record`: glibc's arenas counted from /proc/PID/smaps over the run, against the target's limit.
    package var arena_census: ArenaCensusRecord?
    /// `record --watch-dir`: the files the target held open on the watched filesystems, largest first (at most 10),
    /// and the sentence naming the one that filled it.
    package var temp_dir_holders: [TempFileHolder]?
    package var temp_dir_finding: String?
    /// The call sites that held the most heap when the run ended (at most 5), from the allocation agent's samples
    /// scaled to totals; absent without the agent. `alloc-sites.jsonl` beside the run has every site.
    package var allocation_sites: [AllocationSite]?
    /// `record --agent`: the target's live heap at the start and the end of the phase, from the allocation agent's
    /// events (exact when every allocation is recorded, scaled from the samples otherwise).
    package var heap_live_start: UInt64?
    package var heap_live_end: UInt64?
    /// Which repetition of its configuration this run is (1-based), when the scenario repeats it.
    package var repetition: Int?

    package init(scenario: String, run_id: String, config: String) {
        self.scenario = scenario; self.run_id = run_id; self.config = config
        requests = 0; errors = 0; rss_start = 0; rss_end = 0; rss_peak = 0; rss_growth = 0
        threads_max = 0; arenas_max = nil
        growth = Growth(classification: .notRun, slope_bytes_per_request: 0, first_plateau_request: nil)
        latency_ms = .zero; throughput_rps = 0; expectations = []
    }
}

extension RunSummary {
    /// The growth the verdict speaks of: the steady level over the baseline after the warm-up, not the last reading
    /// over the first (which a spike at either end moves); the last over the first without evidence.
    package var verdictGrowth: Int64 {
        growth.evidence.map { Int64($0.steady_bytes) - Int64($0.baseline_bytes) } ?? rss_growth
    }
}

/// The top-level `summary.json` of a results directory: every run.
package struct ResultsSummary: Codable, Equatable, Sendable {
    package var highwater_version: String
    package var created_ns: UInt64?
    package var runs: [RunSummary]
    /// Upload size sweeps: the largest size that passed and the smallest that failed, per workload.
    package var upload_boundaries: [UploadBoundaryRecord]?
    package init(highwater_version: String, created_ns: UInt64? = nil, runs: [RunSummary]) {
        self.highwater_version = highwater_version; self.created_ns = created_ns; self.runs = runs
        let boundaries = UploadBoundaryRecord.collect(from: runs)
        upload_boundaries = boundaries.isEmpty ? nil : boundaries
    }
}
