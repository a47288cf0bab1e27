import HighwaterRecords
import HighwaterSystem
import Synchronization

/// Where a `Sampler`'s records go. Every sink takes each sample on the sampling thread, as it is taken, so a
/// sink must be quick: the file batches its writes, the latest-value sink keeps one record.
package protocol SampleSink: AnyObject, Sendable {
    /// One sample, on the sampling thread (or the caller's, for `Sampler.sampleOnce`).
    func take(_ record: SampleRecord)
    /// Sampling ended: write out what is held back. Called once, after the last `take`.
    func finish()
}

/// `samples.jsonl`: one JSON line per sample, appended so an interrupted run keeps every line up to its last
/// write. At short intervals lines are written in batches (`writeEveryNs`).
package final class SamplesFile: SampleSink, @unchecked Sendable {
    /// At intervals under this, lines are written this often in one write: at 1 ms the write to samples.jsonl
    /// was the largest cost after reading statm. SIGKILL loses at most this much.
    static let writeEveryNs: UInt64 = 10_000_000

    private let output: AppendOnlyFile
    private let batched: Bool
    /// Touched only on the thread that takes samples (one at a time: the sampling thread, or `sampleOnce`'s
    /// caller before the thread starts or after it ends).
    private var line = JSONLine(capacity: 512)
    private var pending = PendingLines()

    /// Opens `path` for appending; `intervalNs` says whether lines are worth batching.
    package init(path: String, intervalNs: UInt64) throws {
        do { output = try AppendOnlyFile(path) } catch { throw ProbeError(error) }
        batched = intervalNs < Self.writeEveryNs
    }

    package func take(_ record: SampleRecord) {
        record.write(to: &line)
        pending.add(line.bytes, at: record.t_ns)
        if !batched || record.t_ns &- pending.since >= Self.writeEveryNs { flush() }
    }

    package func finish() { flush() }

    /// Samples taken but not written (a full disk, …): samples.jsonl is short by this many lines.
    package var losses: AppendOnlyFile.Losses { output.losses }

    /// A failed write is counted by the file (the run reports lost samples), and sampling goes on.
    private func flush() {
        guard pending.lines > 0 else { return }
        try? output.append(pending.bytes, records: pending.lines)
        pending.clear()
    }
}

/// The latest sample, for a live view or an exporter that reads on its own schedule (a scrape).
package final class LatestSample: SampleSink {
    private let latest = Mutex<SampleRecord?>(nil)

    package init() {}

    package var record: SampleRecord? { latest.withLock { $0 } }

    package func take(_ record: SampleRecord) { latest.withLock { $0 = record } }

    package func finish() {}
}

/// Sample lines not yet written, in storage kept between writes (no allocation per sample).
struct PendingLines {
    var bytes: [UInt8] = []
    var lines = 0
    /// When the first waiting line was taken.
    var since: UInt64 = 0

    init() { bytes.reserveCapacity(16 << 10) }

    mutating func add(_ line: [UInt8], at t: UInt64) {
        if lines == 0 { since = t }
        bytes.append(contentsOf: line)
        lines += 1
    }

    mutating func clear() {
        bytes.removeAll(keepingCapacity: true)
        lines = 0
    }
}
