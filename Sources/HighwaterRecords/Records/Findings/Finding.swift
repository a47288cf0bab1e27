/// A sentence a run's summary carries (`notes`), with what it is about: code that looks for a note asks its kind,
/// never its words. Every note's sentence is rendered in this folder (a file per family) and nowhere else; the arena
/// census's and the temp dir's are kept in fields of their own too (`arena_census.finding`, `temp_dir_finding`).
package struct Finding: Equatable, Sendable {
    /// Stored beside the notes as `note_kinds` (one per note, in order) when any note has a kind other than `note`.
    package enum Kind: String, Sendable, CaseIterable {
        /// A sentence for people only.
        case note
        /// Uploads (a hosted run's, a record phase's): the size at which they began to fail, and the largest that passed.
        case uploadBoundary = "upload_boundary"
        /// `record --agent`: the live heap over a phase against RSS and glibc's resident heaps.
        case liveHeap = "live_heap"
        /// Samples or request records that could not be written: the results are incomplete.
        case recordsLost = "records_lost"

        // How a run or a record ended (RunEnds.swift).
        case targetEnded = "target_ended"
        case attachedExited = "attached_exited"
        case timedOut = "timed_out"
        case childEnded = "child_ended"
        case killedAfterGrace = "killed_after_grace"
        case escapedProcesses = "escaped_processes"
        case leftBehind = "left_behind"
        case runFailed = "run_failed"
        case notRecorded = "not_recorded"
        case settleWriteback = "settle_writeback"

        // What the load did (LoadFindings.swift).
        case unsentRequests = "unsent_requests"
        case loadStopped = "load_stopped"
        case noLoad = "no_load"
        case failedRequests = "failed_requests"
        case firstFailedRequest = "first_failed_request"
        case loadSettled = "load_settled"
        case peakNotReset = "peak_not_reset"

        // What the samples and requests showed (GrowthFindings.swift).
        case noSample = "no_sample"
        case noRequest = "no_request"
        case plateauBegan = "plateau_began"
        case rssMoved = "rss_moved"
        case againstChunked = "against_chunked"
        case idleTimeoutPending = "idle_timeout_pending"

        // The allocation agent and its profiles (AllocationFindings.swift).
        case heapNotReadable = "heap_not_readable"
        case noAllocationEvents = "no_allocation_events"
        case profilesInterrupted = "profiles_interrupted"
        case profilesNotSymbolized = "profiles_not_symbolized"
        case profilesNotWritten = "profiles_not_written"
        case allocationSampling = "allocation_sampling"

        // What the workload did, and findings kept in fields of their own too (WorkloadFindings.swift).
        case uploads
        case downloads
        case arenaCensus = "arena_census"
        case tempDirFiller = "temp_dir_filler"

        /// The kind of a note in results written before kinds were stored, from the opening its renderer gives it:
        /// only the kinds a report reads back from such results.
        init(recognizing text: String) {
            self = Self.openings.first { text.hasPrefix($0.opening) }?.kind ?? .note
        }

        private static let openings: [(kind: Kind, opening: String)] = [
            (.uploadBoundary, Finding.uploadBoundaryOpening), (.liveHeap, Finding.liveHeapOpening),
        ]
    }

    package var kind: Kind
    package var text: String

    package init(_ kind: Kind, _ text: String) { self.kind = kind; self.text = text }
    /// A sentence for people only.
    package init(_ text: String) { self.init(.note, text) }

    static let uploadBoundaryOpening = "uploads started failing at "
    static let liveHeapOpening = "The live heap "
    static let recordsLostOpening = "records could not be written"

    /// "uploads started failing at 64 MiB with status 507; the largest that passed was 63 MiB", or "… with no answer
    /// (connection reset)"; nil when none failed.
    package static func uploadBoundary(_ boundary: UploadBoundary) -> Finding? {
        guard let size = boundary.smallestFailed else { return nil }
        var text = uploadBoundaryOpening + Quantity.formatBytes(size)
        if let status = boundary.failedStatus {
            text += status == 0 ? " with no answer" + (boundary.failedError.map { " (\($0))" } ?? "") : " with status \(status)"
        }
        if let passed = boundary.largestPassed { text += "; the largest that passed was \(Quantity.formatBytes(passed))" }
        return Finding(.uploadBoundary, text)
    }

    /// "The live heap (the agent, …) went from A to B over the phase, while RSS grew C; glibc's heaps held D resident
    /// …, E (F%) of it not live: kept by the allocator." `census` is a sample with the census's readings and, read live,
    /// the heap at the same moment.
    package static func liveHeap(start: Double, end: Double, rssGrowth: Int64, how: String, census: SampleRecord?) -> Finding {
        var sentence = liveHeapOpening + "(the agent, \(how)) went from \(Quantity.formatBytes(start)) to \(Quantity.formatBytes(end)) "
            + "over the phase, while RSS grew \(Quantity.formatBytes(Double(rssGrowth)))"
        if let census {
            let resident = Double((census.arena_heap_resident ?? 0) + (census.main_heap_resident ?? 0))
            let live = census.heap_in_use.map { Double($0) } ?? end
            if resident > 0 {
                let idle = max(0, resident - live)
                sentence += "; glibc's heaps held \(Quantity.formatBytes(resident)) resident at the last census, "
                    + "\(Quantity.formatBytes(idle)) (\(Quantity.format(idle / resident * 100, significant: 2))%) of it not live: kept by the allocator"
            }
        }
        return Finding(.liveHeap, sentence + ".")
    }

    /// A hosted child's losses, as it reported them: "3 samples and 0 request records could not be written: …".
    package static func recordsLost(_ losses: RecordLosses) -> Finding {
        Finding(.recordsLost, "\(losses.samples) samples and \(losses.requests) request " + recordsLostOpening
            + (losses.first_error.map { ": \($0)" } ?? ""))
    }

    /// `record`'s losses, counted together: "12 records could not be written: the results are incomplete".
    package static func recordsLost(count: Int) -> Finding {
        Finding(.recordsLost, "\(count) " + recordsLostOpening + ": the results are incomplete")
    }
}

extension RunSummary {
    /// The notes with their kinds: from `note_kinds` when stored; in results written before, recognised by the
    /// openings their renderers give them.
    package var findings: [Finding] {
        (notes ?? []).enumerated().map { i, text in
            guard let kinds = note_kinds else { return Finding(Finding.Kind(recognizing: text), text) }
            return Finding(i < kinds.count ? Finding.Kind(rawValue: kinds[i]) ?? .note : .note, text)
        }
    }

    /// The texts of the notes of one kind, in order.
    package func notes(_ kind: Finding.Kind) -> [String] { findings.filter { $0.kind == kind }.map(\.text) }

    /// Adds a note; its kind is stored beside it when it, or an earlier note, has one a reader looks for.
    package mutating func note(_ finding: Finding) {
        if finding.kind != .note || note_kinds != nil { note_kinds = findings.map(\.kind.rawValue) + [finding.kind.rawValue] }
        notes = (notes ?? []) + [finding.text]
    }
}
