/// What a watched directory's filesystem did over a run, read with `statvfs` at the watch rate (1 ms by default):
/// its size, the most it held, and when and for how long it was full. Written by the hosted child as `watch.json`
/// and carried into a run's `summary.json` as `temp_dir`.
package struct WatchedFilesystem: Codable, Equatable, Sendable {
    package var path: String
    package var capacity: UInt64
    /// The most bytes in use any reading saw.
    package var peak_used: UInt64
    /// Time seen full (no block available), summed: a full reading counts until the next reading.
    package var full_ns: UInt64
    /// When it was first seen full, on the monotonic clock and the wall clock; absent when it never was.
    package var first_full_ns: UInt64?
    package var first_full_unix_ns: UInt64?
    /// Separate times it filled up.
    package var full_episodes: Int
    package var readings: Int
    package var interval_ns: UInt64

    package init(path: String, capacity: UInt64, interval_ns: UInt64) {
        self.path = path; self.capacity = capacity; self.interval_ns = interval_ns
        peak_used = 0; full_ns = 0; full_episodes = 0; readings = 0
    }

    package var wasFull: Bool { full_episodes > 0 }
}

extension WatchedFilesystem {
    /// "temp dir FULL (4 MiB) for 6 ms, first at 04:12:33.512 UTC": for the summary line of a run that filled it.
    package static func fullSentence(_ w: WatchedFilesystem, name: String = "temp dir") -> String {
        var text = "\(name) FULL (\(Quantity.formatBytes(w.capacity))) for \(Quantity.formatDuration(nanoseconds: Double(w.full_ns)))"
        if w.full_episodes > 1 { text += " over \(w.full_episodes) times" }
        if let unix = w.first_full_unix_ns { text += ", first at \(utcTime(unix))" }
        return text
    }

    /// HH:MM:SS.mmm UTC from nanoseconds since the epoch, without Foundation.
    package static func utcTime(_ unixNs: UInt64) -> String {
        let ms = unixNs / 1_000_000
        let day = ms % 86_400_000
        func two(_ n: UInt64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let millis = day % 1000
        let m3 = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(two(day / 3_600_000)):\(two(day / 60_000 % 60)):\(two(day / 1000 % 60)).\(m3) UTC"
    }
}
