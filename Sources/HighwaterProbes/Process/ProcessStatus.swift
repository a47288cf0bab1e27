import HighwaterRecords
import HighwaterSystem

/// The memory and thread figures of `/proc/PID/status`, in bytes.
package struct ProcessStatus: Equatable, Sendable {
    package var vmRSS: UInt64 = 0
    package var rssAnon: UInt64 = 0
    package var rssFile: UInt64 = 0
    package var rssShmem: UInt64 = 0
    package var vmHWM: UInt64 = 0
    package var vmSize: UInt64 = 0
    package var vmData: UInt64 = 0
    package var threads: UInt64 = 0

    package init() {}

    /// Parses the text of a status file; throws when the fields every Linux writes are missing.
    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>, path: String = "status") throws -> ProcessStatus {
        var s = ProcessStatus()
        var seen = 0
        TextScanner.forEachField(bytes) { key, value in
            guard key.count >= 5, key[0] == UInt8(ascii: "V") || key[0] == UInt8(ascii: "R") || key[0] == UInt8(ascii: "T") else { return }
            func take(_ name: StaticString, _ bit: Int, _ apply: (UInt64) -> Void) {
                if TextScanner.equals(key, name), let v = TextScanner.firstInteger(value) {
                    apply(v); seen |= 1 << bit
                }
            }
            take("VmRSS", 0) { s.vmRSS = kib($0) }
            take("RssAnon", 1) { s.rssAnon = kib($0) }
            take("RssFile", 2) { s.rssFile = kib($0) }
            take("RssShmem", 3) { s.rssShmem = kib($0) }
            take("VmHWM", 4) { s.vmHWM = kib($0) }
            take("VmSize", 5) { s.vmSize = kib($0) }
            take("VmData", 6) { s.vmData = kib($0) }
            take("Threads", 7) { s.threads = $0 }
        }
        // Threads is always there; the Vm* lines are absent only for a zombie or kernel thread.
        guard seen & (1 << 7) != 0 else { throw ProbeError(.malformed("no Threads: line"), path: path) }
        guard seen & 1 != 0 else { throw ProbeError(.malformed("no VmRSS: line (a zombie or kernel thread?)"), path: path) }
        return s
    }

    package static func parse(_ text: String, path: String = "status") throws -> ProcessStatus {
        var copy = text
        return try copy.withUTF8 { try parse($0, path: path) }
    }
}

/// `/proc/PID/statm`: sizes in pages, converted to bytes.
package struct ProcessStatm: Equatable, Sendable {
    package var size: UInt64
    package var resident: UInt64
    package var shared: UInt64
    package var text: UInt64
    package var data: UInt64

    /// Resident memory that is not shared with a file or shmem: what status calls RssAnon, from statm alone.
    package var anonymous: UInt64 { resident >= shared ? resident - shared : 0 }

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>, pageSize: UInt64 = SystemFacts.pageSize, path: String = "statm") throws -> ProcessStatm {
        let (count, f) = TextScanner.fields(bytes, at: (0, 1, 2, 3, 5))
        guard count >= 6, let size = f.0, let resident = f.1, let shared = f.2, let text = f.3, let data = f.4 else {
            throw ProbeError(.malformed("expected 7 page counts"), path: path)
        }
        func inBytes(_ pages: UInt64) -> UInt64 { SaturatingArithmetic.product(pages, pageSize) }
        return ProcessStatm(size: inBytes(size), resident: inBytes(resident), shared: inBytes(shared), text: inBytes(text), data: inBytes(data))
    }
}

/// The fields of `/proc/PID/stat` Highwater uses. CPU times in nanoseconds.
package struct ProcessStat: Equatable, Sendable {
    package var state: Character
    package var utimeNs: UInt64
    package var stimeNs: UInt64
    package var numThreads: UInt64
    package var startTimeTicks: UInt64
    /// For a process that has exited but is not reaped yet (state Z or X): the wait status its parent will get.
    package var exitStatus: Int32?
    /// Exited, waiting for its parent to reap it.
    package var hasExited: Bool { state == "Z" || state == "X" }

    /// The command name may hold spaces and parentheses, so fields are counted after the last `)`.
    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>, path: String = "stat") throws -> ProcessStat {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")), close + 2 < bytes.count else {
            throw ProbeError(.malformed("no ')' after the command name"), path: path)
        }
        let rest = UnsafeBufferPointer(rebasing: bytes[(close + 2)...])
        let state = Character(Unicode.Scalar(rest[0]))
        // After ')': state(3) ppid(4) … utime(14) stime(15) … num_threads(20) … starttime(22); field 0 is state.
        // exit_code(52) is read only for a process that has exited, to say how it ended.
        let exited = rest[0] == UInt8(ascii: "Z") || rest[0] == UInt8(ascii: "X")
        let (count, f) = TextScanner.fields(rest, at: (11, 12, 17, 19, exited ? 49 : 19))
        guard count >= 20, let utime = f.0, let stime = f.1, let threads = f.2, let start = f.3 else {
            throw ProbeError(.malformed("fewer fields than the kernel writes"), path: path)
        }
        let nsPerTick = 1_000_000_000 / SystemFacts.clockTicksPerSecond
        return ProcessStat(state: state, utimeNs: SaturatingArithmetic.product(utime, nsPerTick), stimeNs: SaturatingArithmetic.product(stime, nsPerTick),
                           numThreads: threads, startTimeTicks: start,
                           exitStatus: exited ? f.4.map { Int32(truncatingIfNeeded: $0) } : nil)
    }
}

extension ProcessStat {
    /// One reading of `/proc/PID/stat` and the process group in it, for the callers that look once (is it alive,
    /// who is in a group, when did it start) rather than sample through a `ProcessProbe`; nil once it is gone.
    package static func read(pid: Int32) -> (stat: ProcessStat, processGroup: Int32)? {
        guard var text = try? ProcFile.read("/proc/\(pid)/stat") else { return nil }
        return text.withUTF8 { bytes -> (stat: ProcessStat, processGroup: Int32)? in
            guard let stat = try? parse(bytes), let close = bytes.lastIndex(of: UInt8(ascii: ")")), close + 2 < bytes.count else { return nil }
            // After ')': state(3) ppid(4) pgrp(5); field 0 is state.
            let group = TextScanner.fields(UnsafeBufferPointer(rebasing: bytes[(close + 2)...]), at: (2, 2, 2, 2, 2)).values.0
            return group.map { (stat, Int32(truncatingIfNeeded: $0)) }
        }
    }
}

/// `/proc/PID/io`: bytes read and written, through any means and at the block layer.
package struct ProcessIO: Equatable, Sendable {
    package var rchar: UInt64 = 0
    package var wchar: UInt64 = 0
    package var readBytes: UInt64 = 0
    package var writeBytes: UInt64 = 0

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>, path: String = "io") throws -> ProcessIO {
        var io = ProcessIO()
        var seen = 0
        TextScanner.forEachField(bytes) { key, value in
            guard let v = TextScanner.firstInteger(value) else { return }
            if TextScanner.equals(key, "rchar") { io.rchar = v; seen |= 1 }
            else if TextScanner.equals(key, "wchar") { io.wchar = v; seen |= 2 }
            else if TextScanner.equals(key, "read_bytes") { io.readBytes = v; seen |= 4 }
            else if TextScanner.equals(key, "write_bytes") { io.writeBytes = v; seen |= 8 }
        }
        guard seen == 15 else { throw ProbeError(.malformed("missing rchar, wchar, read_bytes or write_bytes"), path: path) }
        return io
    }
}

/// `/proc/PID/smaps_rollup`: proportional set size and the swap of the process, in bytes.
package struct SmapsRollup: Equatable, Sendable {
    package var rss: UInt64 = 0
    package var pss: UInt64 = 0
    package var pssAnon: UInt64 = 0
    package var pssFile: UInt64 = 0
    package var swap: UInt64 = 0

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>, path: String = "smaps_rollup") throws -> SmapsRollup {
        var r = SmapsRollup()
        var sawPss = false
        TextScanner.forEachField(bytes) { key, value in
            guard let v = TextScanner.kilobytes(value) else { return }
            if TextScanner.equals(key, "Rss") { r.rss = v }
            else if TextScanner.equals(key, "Pss") { r.pss = v; sawPss = true }
            else if TextScanner.equals(key, "Pss_Anon") { r.pssAnon = v }
            else if TextScanner.equals(key, "Pss_File") { r.pssFile = v }
            else if TextScanner.equals(key, "Swap") { r.swap = v }
        }
        guard sawPss else { throw ProbeError(.malformed("no Pss: line"), path: path) }
        return r
    }
}

/// `NNN kB` in bytes; a count no kernel writes (past 2^54 kB) saturates rather than trapping.
func kib(_ kilobytes: UInt64) -> UInt64 { SaturatingArithmetic.product(kilobytes, 1024) }
