@preconcurrency import Glibc

/// Constants of this machine that the parsers need.
public enum SystemFacts {
    public static let pageSize: UInt64 = UInt64(sysconf(Int32(_SC_PAGESIZE)))
    public static let clockTicksPerSecond: UInt64 = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))

}
