/// What a growth verdict rests on, as `summary.json` stores it beside the class.
package struct GrowthEvidence: Codable, Equatable, Sendable {
    /// Requests and sampler readings after the warm-up, and the warm-up itself.
    package var requests_counted: Int
    package var samples_counted: Int?
    package var warmup: Int
    /// The minimums the verdict was held to.
    package var minimum_requests: Int
    package var minimum_samples: Int
    package var minimum_plateau_share: Double
    /// Wall time after the warm-up (first counted request's start to the last one's end, or the sampled span),
    /// and the least a verdict needs; nil in summaries written before time counted.
    package var seconds_counted: Double?
    package var minimum_seconds: Double?
    /// What an `inconclusive` verdict lacked: "requests", "samples" or "time" (each with its figures above).
    package var lacked: [String]?
    /// Why the class is `inconclusive`: "not enough requests to judge (3 of the 30 needed)".
    package var reason: String?
    /// RSS after the warm-up and the level it settled at (median of the last tenth).
    package var baseline_bytes: UInt64
    package var steady_bytes: UInt64
    /// Least-squares line over the counted requests: slope, 95% interval half-width (widened for
    /// correlated residuals), and R².
    package var slope_ci95_bytes_per_request: Double
    package var r_squared: Double
    /// Slope over the last half of the counted requests.
    package var last_half_slope_bytes_per_request: Double
    /// Position (0-based, in completion order) where the plateau starts, from a change-point fit, and the
    /// share of the counted run after it.
    package var plateau_position: Int?
    package var plateau_share: Double?
    /// The live heap (glibc's in-use bytes) from the baseline to its steady level; nil where the allocator
    /// probe does not apply.
    package var heap_growth_bytes: Int64?
    package var heap_steady_bytes: UInt64?
    /// For a rise that peaked and came down (an allocator giving memory back): how far below its peak RSS ended.
    /// The plateau position is then the peak's.
    package var fell_back_bytes: UInt64?
    /// For a level too noisy for a flat fit (requests in flight swinging RSS): the middle half of its readings over
    /// the run's last half, from its 25th to its 75th percentile.
    package var level_low_bytes: UInt64?
    package var level_high_bytes: UInt64?
    /// A rise explained by the pool: the steps of RSS fell where the pool took a new worker thread or glibc a new
    /// arena, and it stayed flat between them. What bounded it ("threads" or "arenas"), the pool's size when its
    /// last step came, the share of the rise that happened between steps, and the number of steps.
    package var pool_bound: String?
    package var pool_threads: Int?
    package var pool_arenas: Int?
    package var pool_between_share: Double?
    package var pool_steps: Int?
    /// The pool was still adding threads or arenas in the last stretch of the run: still filling.
    package var pool_still_filling: Bool?
    /// The pool grew by one worker only: its one working set, taken once, is `stable`.
    package var pool_single: Bool?
    /// The allocator whose own figures gave the live heap ("glibc", "jemalloc", "tcmalloc"), when it was known.
    package var heap_source: String?

    package init(requests_counted: Int, samples_counted: Int?, warmup: Int, minimums: GrowthMinimums, baseline_bytes: UInt64,
                steady_bytes: UInt64) {
        self.requests_counted = requests_counted; self.samples_counted = samples_counted; self.warmup = warmup
        minimum_requests = minimums.requests; minimum_samples = minimums.samples; minimum_plateau_share = minimums.plateauShare
        minimum_seconds = minimums.seconds
        self.baseline_bytes = baseline_bytes; self.steady_bytes = steady_bytes
        slope_ci95_bytes_per_request = 0; r_squared = 0; last_half_slope_bytes_per_request = 0
    }
}

