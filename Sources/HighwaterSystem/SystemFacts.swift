@preconcurrency import Glibc

/// Constants of this machine, from sysconf(3).
package enum SystemFacts {
    package static let pageSize: UInt64 = UInt64(sysconf(Int32(_SC_PAGESIZE)))
    package static let clockTicksPerSecond: UInt64 = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))

    /// Processors online now: what glibc's arena cap and every runtime's default pool size derive from.
    package static var onlineCPUs: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
    /// Processors the kernel was configured with, online or not.
    package static var configuredCPUs: Int { Int(sysconf(Int32(_SC_NPROCESSORS_CONF))) }
}
