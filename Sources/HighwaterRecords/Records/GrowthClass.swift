/// What a run's memory did over its requests.
public enum GrowthClass: String, Codable, Sendable, CaseIterable {
    /// RSS stayed within the noise of where it started.
    case stable
    /// RSS grew, then stopped: a pool filling up, caches warming, arenas being created.
    case plateau
    /// RSS kept growing to the end at a steady slope: a probable leak.
    case linear
}
