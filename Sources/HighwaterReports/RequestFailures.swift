import HighwaterRecords

/// The requests of a run that failed, for the badge: a phase where 8 of 16 uploads answered 507 is not green,
/// whatever its memory did. Read from the request records (status 400 and above, or an error text); the stored
/// `errors` count where a run has no records.
package struct RequestFailures: Sendable {
    package var total: Int
    package var failed: Int
    /// Failed requests by the status they answered (0: no answer, an error text only), commonest first.
    package var byStatus: [(status: Int32, count: Int)]

    package init(_ run: RunData) {
        let r = run.requests
        var counts: [Int32: Int] = [:]
        for k in 0..<r.count where r.status[k] >= 400 || r.errors[k] != nil {
            counts[r.status[k] >= 400 ? r.status[k] : 0, default: 0] += 1
        }
        let recorded = counts.values.reduce(0, +)
        failed = max(run.summary.errors, recorded)
        // A run cut short counts the requests it sent, failed ones included.
        total = max(run.summary.requests, r.count, failed)
        byStatus = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// "8 of 16 answered 507", "3 of 100 failed (2 answered 502, 1 without an answer)"; nil when none failed.
    package var text: String? {
        guard failed > 0 else { return nil }
        let of = "\(failed) of \(total)"
        if byStatus.count == 1, byStatus[0].count == failed {
            return byStatus[0].status == 0 ? "\(of) got no answer" : "\(of) answered \(byStatus[0].status)"
        }
        guard !byStatus.isEmpty else { return "\(of) failed" }
        let parts = byStatus.map { $0.status == 0 ? "\($0.count) without an answer" : "\($0.count) answered \($0.status)" }
        return "\(of) failed (" + parts.joined(separator: ", ") + ")"
    }
}

/// How a run's process ended, in words. A signal Highwater sent to stop a target at the end of a record is how every
/// record ends, not a crash; only a run judged `crashed` ended on its own.
enum ProcessEnd {
    /// nil for a clean exit; otherwise the sentence and whether it is a failure.
    static func sentence(_ s: RunSummary) -> (text: String, failed: Bool)? {
        guard let exit = s.child_exit, exit != "exit 0" else { return nil }
        if s.growth.classification == .crashed { return ("The child ended with \(exit).", true) }
        if let limit = s.timed_out_after_s { return ("Stopped by Highwater (\(exit)) at its time limit of \(Quantity.format(limit)) s.", false) }
        if exit.hasPrefix("signal") { return ("Stopped by Highwater (\(exit)) when the record ended.", false) }
        return ("Exited with \(exit) after Highwater stopped it.", false)
    }
}
