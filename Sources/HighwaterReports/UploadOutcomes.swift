import HighwaterRecords

/// What a scenario's upload runs showed, per upload workload: which file sizes passed, where the boundary
/// lies against the prediction and the temp dir's capacity, and what each upload cost in writes and latency.
/// Every workload figure is optional: a run that lacks one is drawn and told without it.
package struct UploadOutcomes: Sendable {

    /// One run of an upload workload.
    package struct Attempt: Sendable {
        package var config: String
        package var workload: String
        package var fileBytes: Double?
        package var passed: Bool
        package var bytesWrittenPerByte: Double?
        package var latencyP50Ms: Double
        package var tmpCapacity: Double?
        package var tmpUsedPeak: Double?
        package var predictedLargestFile: Double?
        /// It failed, and every expectation on it held: a failure the scenario predicted (ENOSPC past the boundary).
        package var failedAsExpected: Bool
    }

    /// The sizes of one workload that passed and failed, with the prediction and capacity to compare them with.
    package struct Boundary: Sendable {
        package var workload: String
        package var sizes: [(bytes: Double, passed: Bool)]
        /// Largest passed and smallest failed, over the sizes tried and what each run reported of its own.
        package var boundary: UploadBoundary
        package var largestPassed: Double? { boundary.largestPassed.map { Double($0) } }
        package var smallestFailed: Double? { boundary.smallestFailed.map { Double($0) } }
        package var predicted: Double?
        package var capacity: Double?

        /// "upload-spooled: largest passed 63 MiB, smallest failed 64 MiB, predicted boundary 64 MiB (tmpfs capacity 64 MiB)."
        package var sentence: String {
            let sizeRange = sizes.isEmpty ? "" : " (\(bytes(sizes.map(\.bytes).min()!)) to \(bytes(sizes.map(\.bytes).max()!)))"
            guard let smallestFailed else { return "\(workload) passed every size\(sizeRange)." }
            var text: String
            if let largestPassed {
                text = "\(workload): largest passed \(bytes(largestPassed)), smallest failed \(bytes(smallestFailed))"
            } else {
                text = "\(workload) failed every size\(sizeRange), the smallest \(bytes(smallestFailed))"
            }
            if let predicted { text += ", predicted boundary \(bytes(predicted))" }
            if let capacity { text += " (tmpfs capacity \(bytes(capacity)))" }
            text += "."
            if !boundary.isConsistent {
                text += " A size failed below one that passed: something other than space failed too."
            }
            return text
        }

        func bytes(_ v: Double) -> String { Quantity.formatBytes(v) }

        /// The boundary is what the scenario predicted: every expectation on this workload's runs held, and where
        /// a prediction was made the largest passing size is at or under it and the smallest failing one above.
        package func asPredicted(_ runs: [ReportModel.Run]) -> Bool {
            let mine = runs.filter { $0.summary.configuration?.workload == workload }
            guard mine.allSatisfy({ $0.summary.growth.classification.hasData && $0.summary.expectations.allSatisfy(\.passed) }) else { return false }
            if let predicted {
                if let p = largestPassed, p > predicted { return false }
                if let f = smallestFailed, f <= predicted { return false }
                return boundary.isConsistent
            }
            return smallestFailed == nil || mine.contains { !$0.summary.expectations.isEmpty }
        }
    }

    package var attempts: [Attempt]
    /// One per upload workload, in the order the runs list them.
    package var boundaries: [Boundary]

    /// The upload figures of a scenario's runs; nil when none of them ran an upload workload.
    package init?(_ runs: [ReportModel.Run]) {
        let attempts = runs.compactMap(Self.attempt)
        guard !attempts.isEmpty else { return nil }
        self.attempts = attempts
        var order: [String] = []
        for a in attempts where !order.contains(a.workload) { order.append(a.workload) }
        boundaries = order.map { workload in
            let mine = attempts.filter { $0.workload == workload }
            let figures = runs.filter { $0.summary.configuration?.workload == workload }.compactMap(\.summary.workload)
            let sizes = mine.compactMap { a in a.fileBytes.map { (bytes: $0, passed: a.passed) } }.sorted { $0.bytes < $1.bytes }
            // A run that cycles several sizes reports its own largest pass and smallest failure.
            let reported = figures.compactMap(UploadBoundary.init(figures:)).flatMap(\.outcomes)
            let boundary = UploadBoundary(outcomes: sizes.map { (UInt64($0.bytes), $0.passed) } + reported)
            return Boundary(workload: workload, sizes: sizes, boundary: boundary,
                            predicted: mine.lazy.compactMap(\.predictedLargestFile).first, capacity: mine.lazy.compactMap(\.tmpCapacity).first)
        }
    }

    static func attempt(_ run: ReportModel.Run) -> Attempt? {
        let s = run.summary
        guard let workload = s.configuration?.workload, WorkloadKind.family(named: workload) == .upload else { return nil }
        let w = s.workload ?? WorkloadFigures()
        let passed = w[.uploadsFailed].map { $0 == 0 } ?? (run.facts.errorCount == 0)
        let expected = !passed && !s.expectations.isEmpty && s.expectations.allSatisfy(\.passed)
        return Attempt(config: s.config, workload: workload, fileBytes: w[.uploadFileBytes], passed: passed,
                       bytesWrittenPerByte: w[.bytesWrittenPerByte], latencyP50Ms: s.latency_ms.p50,
                       tmpCapacity: w[.tmpCapacity], tmpUsedPeak: w[.tmpUsedPeak], predictedLargestFile: w[.predictedLargestFile],
                       failedAsExpected: expected)
    }
}
