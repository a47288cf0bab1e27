/// Where uploads of one workload in one scenario started failing, across the runs of a size sweep:
/// `summary.json`'s `upload_boundaries`. Sizes are file bytes.
package struct UploadBoundaryRecord: Codable, Equatable, Sendable {
    package var scenario: String
    package var workload: String
    package var sizes_tried: [UInt64]
    package var largest_passed: UInt64?
    package var smallest_failed: UInt64?
    /// From the capacity of whatever the upload fills first (the temp dir when spooled); nil when nothing bounds it.
    package var predicted_largest_file: UInt64?
    package var tmp_capacity: UInt64?
    /// Every pass is below every failure, and the prediction lies between them (give or take 1 MiB).
    package var agrees_with_prediction: Bool?

    /// One record per (scenario, upload workload) among `runs`, from the `workload` fields of each run.
    package static func collect(from runs: [RunSummary], tolerance: UInt64 = 1 << 20) -> [UploadBoundaryRecord] {
        var order: [String] = []
        var groups: [String: [RunSummary]] = [:]
        for run in runs {
            guard let name = run.configuration?.workload, WorkloadKind.family(named: name) == .upload,
                  run.workload?[.uploadFileBytes] != nil else { continue }
            let key = run.scenario + "\u{0}" + name
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(run)
        }
        return order.map { key in
            let group = groups[key]!
            func value(_ run: RunSummary, _ figure: WorkloadFigure) -> UInt64? { run.workload?[figure].map { UInt64($0) } }
            // Each run reports its own largest pass and smallest failure (a run may cycle several sizes).
            let boundary = UploadBoundary(outcomes: group.compactMap { UploadBoundary(figures: $0.workload) }.flatMap(\.outcomes))
            var record = UploadBoundaryRecord(
                scenario: group[0].scenario, workload: group[0].configuration!.workload!,
                sizes_tried: Array(Set(group.compactMap { value($0, .uploadFileBytes) })).sorted(),
                largest_passed: boundary.largestPassed, smallest_failed: boundary.smallestFailed,
                predicted_largest_file: group.compactMap { value($0, .predictedLargestFile) }.min(),
                tmp_capacity: group.compactMap { value($0, .tmpCapacity) }.max())
            record.agrees_with_prediction = record.predicted_largest_file.map { boundary.agrees(with: $0, tolerance: tolerance) }
            return record
        }
    }
}
