/// What a sweep of upload sizes showed: the largest that passed and the smallest that failed.
package struct UploadBoundary: Equatable, Sendable {
    package var largestPassed: UInt64?
    package var smallestFailed: UInt64?

    package init(outcomes: [(bytes: UInt64, passed: Bool)]) {
        largestPassed = outcomes.filter(\.passed).map(\.bytes).max()
        smallestFailed = outcomes.filter { !$0.passed }.map(\.bytes).min()
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
