/// What a run's memory did over its requests.
package enum GrowthClass: String, Codable, Sendable, CaseIterable {
    /// RSS stayed within the noise of where it started.
    case stable
    /// RSS grew, then stopped and held for a documented share of the run: a pool filling up, caches warming.
    case plateau
    /// RSS kept rising while the live heap stayed flat: the allocator keeps memory the program freed.
    case retention
    /// RSS kept growing to the end at a steady slope, and the live heap with it where it is known: a leak.
    case linear
    /// RSS rose and had not settled by the end (or settled only in the last stretch): run longer to tell.
    case stillGrowing = "still-growing"
    /// Too little evidence to judge (too few requests or samples after the warm-up); the reason says which.
    case inconclusive
    /// The run could not be carried out: no request reached a handler.
    case notRun = "not-run"
    /// The hosted child ended by a signal or a failure before the run finished.
    case crashed

    /// Runs without a verdict on their memory: nothing to judge.
    package var hasData: Bool { self != .notRun && self != .crashed }

    /// A class that calls for attention (a red or orange badge); `inconclusive` never does.
    package var isGrowth: Bool { self == .plateau || self == .retention || self == .linear || self == .stillGrowing }
}

/// The least evidence a verdict needs; below it the class is `inconclusive`. Settable per scenario
/// (`verdict: {min_requests: 30, min_samples: 10, min_seconds: 10, plateau_share: 0.2}`).
package struct GrowthMinimums: Codable, Equatable, Sendable {
    /// Requests after the warm-up.
    package var requests: Int
    /// Sampler readings taken after the warm-up.
    package var samples: Int
    /// Wall time after the warm-up, in seconds. Requests alone can come in a fraction of a second, far faster
    /// than an allocator gives memory back: jemalloc purges dirty pages over its decay time (10 s by default),
    /// tcmalloc releases its page heap gradually, so a verdict over less than that judges memory the allocator
    /// has not yet had the chance to return.
    package var seconds: Double
    /// Share of the counted run that a plateau must hold for; one found later is `still-growing`.
    package var plateauShare: Double

    package static let defaultRequests = 30
    package static let defaultSamples = 10
    /// jemalloc's default dirty_decay_ms (and muzzy_decay_ms): one full decay period.
    package static let defaultSeconds = 10.0
    package static let defaultPlateauShare = 0.2

    package init(requests: Int = defaultRequests, samples: Int = defaultSamples, seconds: Double = defaultSeconds,
                plateauShare: Double = defaultPlateauShare) {
        self.requests = requests; self.samples = samples; self.seconds = seconds; self.plateauShare = plateauShare
    }

    enum CodingKeys: String, CodingKey { case requests, samples, seconds, plateauShare }

    /// A plan written before `seconds` existed held its runs to no minimum of time.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        requests = try c.decode(Int.self, forKey: .requests)
        samples = try c.decode(Int.self, forKey: .samples)
        seconds = try c.decodeIfPresent(Double.self, forKey: .seconds) ?? 0
        plateauShare = try c.decode(Double.self, forKey: .plateauShare)
    }
}
