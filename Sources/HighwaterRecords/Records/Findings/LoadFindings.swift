/// What the load did: requests never sent, requests that failed, how `load.until settled` stopped it.
extension Finding {
    /// `record`: requests the phase never sent (Ctrl-C, the time limit, a target gone) are not errors.
    package static func unsentRequests(sent: Int, planned: Int) -> Finding {
        Finding(.unsentRequests, "\(sent) of \(planned) requests were sent; the \(planned - sent) never sent are not counted (neither as errors nor as answers)")
    }

    /// Why a hosted run's load stopped before all its requests were sent.
    package enum LoadStop: Sendable {
        case interrupted, timeLimit, childEnded
    }

    /// A hosted run's load stopped early: the requests never sent are not counted.
    package static func loadStopped(_ why: LoadStop, sent: Int, planned: Int) -> Finding {
        let reason = switch why {
        case .interrupted: "interrupted"
        case .timeLimit: "stopped at the time limit"
        case .childEnded: "the load ended with the child"
        }
        return Finding(.loadStopped, "\(reason) after \(sent) of \(planned) requests; the \(planned - sent) never sent are not counted (neither as errors nor as answers)")
    }

    /// `record` without load: the phase only watched.
    package static func noLoad(samples: Int) -> Finding {
        Finding(.noLoad, "no load in this phase: the target was watched (\(samples) samples)")
    }

    /// `record`: the failed requests by status (0 is no answer; 2xx are left out), and the first one's error.
    package static func failedRequests(_ count: Int, statuses: [Int: Int], first: String) -> Finding {
        let counted = statuses.filter { !(200..<300).contains($0.key) }.sorted { $0.key < $1.key }
            .map { "\($0.value) x \($0.key == 0 ? "no answer" : String($0.key))" }.joined(separator: ", ")
        return Finding(.failedRequests, "\(count) requests failed (\(counted)); the first: \(first)")
    }

    /// A hosted run's first failed request.
    package static func firstFailedRequest(_ error: String) -> Finding {
        Finding(.firstFailedRequest, "the first failed request: \(error)")
    }

    /// How `load.until settled` ended the load: `settled`, or the cap came first; `last` is the last check's verdict.
    package static func loadSettled(_ settled: Bool, last: (verdict: String, seconds: Double)?) -> Finding {
        let at = last.map { "\($0.verdict) at \(Quantity.format($0.seconds)) s" } ?? "no verdict"
        return Finding(.loadSettled, settled ? "load.until settled: the verdict held over the last third of the run (\(at)), so the load stopped there"
            : "load.until settled: the verdict had not settled when the cap came (\(at))")
    }

    /// The kernel's peak RSS (VmHWM) could not be reset at a phase's start.
    package static func peakNotReset(_ error: String) -> Finding {
        Finding(.peakNotReset, "the kernel's peak RSS (VmHWM) could not be reset for this phase (\(error)): rss_peak may be an earlier one")
    }
}
