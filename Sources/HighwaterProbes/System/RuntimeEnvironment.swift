@preconcurrency import Glibc
import HighwaterRecords
import CHighwater
import HighwaterSystem

/// How this machine and process look to each runtime that sizes a pool or an allocator from it,
/// with the source of every figure.
package struct RuntimeEnvironment: Codable, Sendable {
    package struct Figure: Codable, Sendable {
        package var name: String
        package var value: String
        /// A number where the figure is one (bytes, counts), for scripts.
        package var number: Double?
        package var source: String
    }

    package struct Section: Codable, Sendable {
        package var title: String
        package var figures: [Figure]
    }

    package var sections: [Section]

    package subscript(_ name: String) -> Figure? {
        sections.lazy.flatMap(\.figures).first { $0.name == name }
    }

    /// Reads everything now. Nothing here throws: an absent figure says why it is absent.
    package static func read(environment: [String: String] = ProcessEnvironment.current) -> RuntimeEnvironment {
        let online = SystemFacts.onlineCPUs
        let configured = SystemFacts.configuredCPUs
        let affinity = Int(hw_affinity_cpu_count())
        let cgroup = try? CgroupProbe.read()
        let quota = cgroup?.cpuQuota ?? v1CPUQuota()
        let quotaSource = cgroup?.cpuQuota != nil ? "\(cgroup!.path)/cpu.max" : (quota != nil ? "cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us" : "none")

        func fig(_ name: String, _ value: String, _ number: Double? = nil, _ source: String) -> Figure {
            Figure(name: name, value: value, number: number, source: source)
        }

        var cpus = Section(title: "CPUs", figures: [
            fig("online_cpus", "\(online)", Double(online), "sysconf(_SC_NPROCESSORS_ONLN)"),
            fig("configured_cpus", "\(configured)", Double(configured), "sysconf(_SC_NPROCESSORS_CONF)"),
            fig("affinity_cpus", affinity >= 0 ? "\(affinity)" : "unknown", affinity >= 0 ? Double(affinity) : nil, "sched_getaffinity"),
        ])
        cpus.figures.append(fig("cgroup_cpu_quota", quota.map { Quantity.format($0) + " CPUs" } ?? "none (no limit)", quota, quotaSource))

        // What each runtime derives from those.
        let arenaMaxEnv = environment["MALLOC_ARENA_MAX"]
        let (limit, arenaSource) = AllocatorProbe.arenaLimit(environment: environment, onlineCPUs: online)
        let arenaLimit = "\(limit)"
        let nioPool = quota.map { max(1, Int($0.rounded(.up))) }.map { min($0, affinity > 0 ? affinity : online) } ?? (affinity > 0 ? affinity : online)
        let pythonCPUs = affinity > 0 ? affinity : online
        let runtimes = Section(title: "Pool and allocator defaults", figures: [
            fig("glibc_arena_max", arenaLimit, Double(arenaLimit), arenaSource),
            fig("swiftnio_blocking_pool", "\(nioPool)", Double(nioPool), "NIOSingletons: System.coreCount (cgroup-quota aware)"),
            fig("libdispatch_overcommit_cap", "255", 255, "libdispatch: the global queues' thread limit"),
            fig("swift_concurrency_width", "\(configured)", Double(configured), "cooperative pool width: configured CPUs (not quota-aware)"),
            fig("python_threadpool_default", "\(min(32, pythonCPUs + 4))", Double(min(32, pythonCPUs + 4)), "ThreadPoolExecutor since 3.8: min(32, os.cpu_count() + 4)"),
            fig("python_threadpool_pre_3_8", "\(pythonCPUs * 5)", Double(pythonCPUs * 5), "ThreadPoolExecutor before 3.8: os.cpu_count() x 5"),
            fig("anyio_thread_limiter", "40", 40, "anyio's default CapacityLimiter (Starlette's run_in_threadpool)"),
        ])

        var memory = Section(title: "Memory", figures: [])
        if let total = memTotal() {
            memory.figures.append(fig("mem_total", Quantity.formatBytes(total), Double(total), "/proc/meminfo MemTotal"))
        }
        if let cgroup {
            memory.figures.append(fig("cgroup_memory_max", cgroup.memoryMax.map { Quantity.formatBytes($0) } ?? "max (no limit)",
                                      cgroup.memoryMax.map { Double($0) }, "\(cgroup.path)/memory.max"))
            if let current = cgroup.memoryCurrent {
                memory.figures.append(fig("cgroup_memory_current", Quantity.formatBytes(current), Double(current), "\(cgroup.path)/memory.current"))
            }
        } else if let v1 = CgroupProbe.v1MemoryLimit() {
            memory.figures.append(fig("cgroup_memory_max", Quantity.formatBytes(v1.limit), Double(v1.limit), v1.path + " (cgroup v1)"))
        } else {
            memory.figures.append(fig("cgroup_memory_max", "none", nil, "no cgroup v2 memory.max nor v1 limit found"))
        }
        memory.figures.append(fig("malloc_arena_max_env", arenaMaxEnv ?? "unset", arenaMaxEnv.flatMap(Double.init), "environment MALLOC_ARENA_MAX"))
        memory.figures.append(fig("glibc_tunables", environment["GLIBC_TUNABLES"] ?? "unset", nil, "environment GLIBC_TUNABLES"))

        var temp = Section(title: "Temp dir", figures: [])
        let resolved = TempDirectory.resolve(environment: environment)
        temp.figures.append(fig("temp_dir", resolved.path, nil, resolved.source))
        if let usage = try? FilesystemProbe.usage(of: resolved.path) {
            temp.figures.append(fig("temp_dir_filesystem", usage.type + " (mounted at \(usage.mountPoint))", nil, "/proc/self/mountinfo"))
            temp.figures.append(fig("temp_dir_capacity", Quantity.formatBytes(usage.capacity), Double(usage.capacity), "statvfs f_blocks x f_frsize"))
            temp.figures.append(fig("temp_dir_free", Quantity.formatBytes(usage.available), Double(usage.available), "statvfs f_bavail x f_frsize"))
            if usage.isTmpfs {
                temp.figures.append(fig("temp_dir_note", "tmpfs: uploads spooled here count against memory, and the largest that fits is its free space", nil, "derived"))
            }
        }
        return RuntimeEnvironment(sections: [cpus, runtimes, memory, temp])
    }

    static func memTotal() -> UInt64? {
        guard let text = try? ProcFile.read("/proc/meminfo"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }.map { $0 * 1024 }
    }

    static func v1CPUQuota() -> Double? {
        guard let q = (try? ProcFile.read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")).flatMap({ Double($0.trimmingWhitespace()) }),
              let p = (try? ProcFile.read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")).flatMap({ Double($0.trimmingWhitespace()) }),
              q > 0, p > 0 else { return nil }
        return q / p
    }

    /// Text for a terminal: one figure per line, with its source.
    package func text() -> String {
        var out = ""
        for section in sections {
            out += "\(section.title)\n"
            let width = section.figures.map(\.name.count).max() ?? 0
            for f in section.figures {
                out += "  " + f.name.padding(to: width) + "  " + f.value + "   [" + f.source + "]\n"
            }
        }
        return out
    }
}

/// The temp dir as Python's tempfile resolves it: TMPDIR, TEMP, TMP, then /tmp, /var/tmp, /usr/tmp,
/// then the working directory; the first that is a writable directory.
package enum TempDirectory {
    package static func resolve(environment: [String: String]) -> (path: String, source: String) {
        for name in ["TMPDIR", "TEMP", "TMP"] {
            if let dir = environment[name], !dir.isEmpty, isWritableDirectory(dir) { return (dir, "environment \(name)") }
        }
        for dir in ["/tmp", "/var/tmp", "/usr/tmp"] where isWritableDirectory(dir) {
            return (dir, "first writable of /tmp, /var/tmp, /usr/tmp (TMPDIR, TEMP, TMP unset)")
        }
        var buffer = [CChar](repeating: 0, count: 4096)
        let cwd = getcwd(&buffer, buffer.count).map { String(cString: $0) } ?? "."
        return (cwd, "working directory (no other candidate was writable)")
    }

    static func isWritableDirectory(_ path: String) -> Bool {
        guard let st = try? Syscall.status(path) else { return false }
        return (st.st_mode & S_IFMT) == S_IFDIR && Syscall.canAccess(path, W_OK)
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
