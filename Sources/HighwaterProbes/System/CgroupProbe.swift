/// The cgroup v2 limits and usage of a process. Fields are nil where the file is absent
/// (cgroup v1, a controller not enabled, or the root cgroup, which has no limits).
package struct CgroupReading: Equatable, Sendable, Codable {
    package var path: String
    package var memoryCurrent: UInt64?
    /// nil for "max" (no limit).
    package var memoryMax: UInt64?
    package var memoryPeak: UInt64?
    package var memoryEvents: [String: UInt64]
    /// CPUs' worth of quota (quota / period); nil for "max".
    package var cpuQuota: Double?
    /// Where the figures came from, in words.
    package var source: String
}

package enum CgroupProbe {
    package static let root = "/sys/fs/cgroup"

    /// The cgroup v2 directory of a process, from the `0::` line of /proc/PID/cgroup.
    /// Hybrid hosts mount the v2 hierarchy at /sys/fs/cgroup/unified.
    package static func directory(of pid: Int32?) throws -> String {
        let self_ = pid.map { "/proc/\($0)/cgroup" } ?? "/proc/self/cgroup"
        let text = try ProcFile.read(self_)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else {
            throw ProbeError(.unavailable("no cgroup v2 entry (cgroup v1 only)"), path: self_)
        }
        let relative = String(line.dropFirst(3))
        for mount in [root, root + "/unified"] {
            if let fs = try? FilesystemProbe.usage(of: mount), fs.type == "cgroup2" {
                return mount + (relative == "/" ? "" : relative)
            }
        }
        throw ProbeError(.unavailable("no cgroup2 filesystem mounted at \(root) or \(root)/unified"), path: self_)
    }

    package static func read(pid: Int32? = nil) throws -> CgroupReading {
        let dir = try directory(of: pid)
        func value(_ name: String) -> String? {
            (try? ProcFile.read(dir + "/" + name)).map { $0.trimmingWhitespace() }
        }
        var reading = CgroupReading(path: dir, memoryEvents: [:], source: "cgroup v2 at \(dir)")
        reading.memoryCurrent = value("memory.current").flatMap { UInt64($0) }
        reading.memoryMax = value("memory.max").flatMap { UInt64($0) }
        reading.memoryPeak = value("memory.peak").flatMap { UInt64($0) }
        if let events = value("memory.events") {
            for line in events.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, let v = UInt64(parts[1]) { reading.memoryEvents[String(parts[0])] = v }
            }
        }
        if let cpu = value("cpu.max") {
            let parts = cpu.split(separator: " ")
            if parts.count == 2, let quota = Double(parts[0]), let period = Double(parts[1]), period > 0 {
                reading.cpuQuota = quota / period
            }
        }
        return reading
    }

    /// The memory limit of a cgroup v1 memory controller, for hybrid hosts without a v2 limit.
    package static func v1MemoryLimit(pid: Int32? = nil) -> (limit: UInt64, path: String)? {
        let file = pid.map { "/proc/\($0)/cgroup" } ?? "/proc/self/cgroup"
        guard let text = try? ProcFile.read(file),
              let line = text.split(separator: "\n").first(where: { $0.contains(":memory:") }) else { return nil }
        let relative = line.split(separator: ":", maxSplits: 2).last.map(String.init) ?? "/"
        for candidate in [root + "/memory" + relative, root + "/memory"] {
            let path = candidate + "/memory.limit_in_bytes"
            if let v = (try? ProcFile.read(path)).flatMap({ UInt64($0.trimmingWhitespace()) }) {
                // The kernel writes a huge page-rounded number for "no limit".
                return v >= (1 << 62) ? nil : (v, path)
            }
        }
        return nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
