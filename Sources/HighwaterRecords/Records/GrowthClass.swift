/// What a run's memory did over its requests.
public enum GrowthClass: String, Codable, Sendable, CaseIterable {
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
    public var hasData: Bool { self != .notRun && self != .crashed }

    /// A class that calls for attention (a red or orange badge); `inconclusive` never does.
    public var isGrowth: Bool { self == .plateau || self == .retention || self == .linear || self == .stillGrowing }
}

/// The least evidence a verdict needs; below it the class is `inconclusive`. Settable per scenario
/// (`verdict: {min_requests: 30, min_samples: 10, plateau_share: 0.2}`).
public struct GrowthMinimums: Codable, Equatable, Sendable {
    /// Requests after the warm-up.
    public var requests: Int
    /// Sampler readings taken after the warm-up.
    public var samples: Int
    /// Share of the counted run that a plateau must hold for; one found later is `still-growing`.
    public var plateauShare: Double

    public static let defaultRequests = 30
    public static let defaultSamples = 10
    public static let defaultPlateauShare = 0.2

    public init(requests: Int = defaultRequests, samples: Int = defaultSamples, plateauShare: Double = defaultPlateauShare) {
        self.requests = requests; self.samples = samples; self.plateauShare = plateauShare
    }
}
