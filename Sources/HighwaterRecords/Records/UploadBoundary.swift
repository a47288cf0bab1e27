/// Where uploads started failing: the largest size that passed, the smallest that failed and how it failed. One
/// boundary for a hosted run's uploads, a record phase's growing uploads (`upload=A..B`) and a scenario's sweep of
/// sizes, kept in summary.json's `workload` fields (`largest_passed`, `smallest_failed`, `failed_status`) and told in
/// one sentence (`Finding.uploadBoundary`).
package struct UploadBoundary: Equatable, Sendable {
    package var largestPassed: UInt64?
    package var smallestFailed: UInt64?
    /// The answer to the smallest upload that failed: its HTTP status (0: no answer) and the client's error.
    package var failedStatus: Int?
    package var failedError: String?

    package init(largestPassed: UInt64? = nil, smallestFailed: UInt64? = nil, failedStatus: Int? = nil, failedError: String? = nil) {
        self.largestPassed = largestPassed; self.smallestFailed = smallestFailed
        self.failedStatus = failedStatus; self.failedError = failedError
    }

    package init(outcomes: [(bytes: UInt64, passed: Bool)]) {
        largestPassed = outcomes.filter(\.passed).map(\.bytes).max()
        smallestFailed = outcomes.filter { !$0.passed }.map(\.bytes).min()
    }

    /// Its two ends as outcomes (the largest pass, the smallest failure), to combine boundaries of several runs.
    package var outcomes: [(bytes: UInt64, passed: Bool)] {
        [largestPassed.map { ($0, true) }, smallestFailed.map { ($0, false) }].compactMap { $0 }
    }

    /// As a run's `workload` fields hold it; nil when they say nothing of uploads passing or failing.
    package init?(figures: WorkloadFigures?) {
        guard let w = figures, w[.largestPassed] != nil || w[.smallestFailed] != nil else { return nil }
        largestPassed = w[.largestPassed].map { UInt64($0) }
        smallestFailed = w[.smallestFailed].map { UInt64($0) }
        failedStatus = w[.failedStatus].map { Int($0) }
    }

    /// One upload of `bytes`, answered with `status` (0: none) or failed with `error`: a pass is a 2xx answer.
    package mutating func add(bytes: UInt64, status: Int, error: String?) {
        if error == nil && (200..<300).contains(status) {
            largestPassed = max(largestPassed ?? 0, bytes)
        } else if smallestFailed.map({ bytes < $0 }) ?? true {
            smallestFailed = bytes
            failedStatus = status
            failedError = error
        }
    }

    /// The `workload` fields of summary.json.
    package func write(into w: inout WorkloadFigures) {
        if let largestPassed { w[.largestPassed] = Double(largestPassed) }
        if let smallestFailed { w[.smallestFailed] = Double(smallestFailed) }
        if let failedStatus { w[.failedStatus] = Double(failedStatus) }
    }

    /// Every pass below every failure (a failure below a pass means something other than space failed).
    package var isConsistent: Bool {
        guard let largestPassed, let smallestFailed else { return true }
        return largestPassed < smallestFailed
    }

    /// The observed boundary brackets the predicted largest size, give or take `tolerance` (1 MiB by default).
    package func agrees(with predictedLargest: UInt64, tolerance: UInt64 = 1 << 20) -> Bool {
        guard isConsistent else { return false }
        if let largestPassed, largestPassed > predictedLargest + tolerance { return false }
        if let smallestFailed, smallestFailed + tolerance <= predictedLargest { return false }
        return true
    }
}
