/// The largest values Highwater accepts from a scenario, a limits file, the command line or the environment.
/// Each is far past any real use and small enough that the arithmetic over it cannot overflow unnoticed;
/// a value past one is a `file:line:col` error or a usage error that names the limit (scenarios/README.md).
package enum InputLimits {
    /// A scenario or limits file: scenario files are a few KiB; a larger file is a mistake or an attack.
    package static let maxFileBytes = 1 << 20
    /// Values in one YAML document after aliases are expanded (an alias bomb expands 1 KiB into billions).
    package static let maxYAMLNodes = 100_000
    /// Nesting of YAML mappings and lists: scenarios nest three or four levels.
    package static let maxYAMLDepth = 64
    /// A size in bytes: 1 PiB, past any tmpfs, upload or memory limit on one machine.
    package static let maxBytes: UInt64 = 1 << 50
    /// Threads or requests in flight: Linux's PID_MAX_LIMIT, the most tasks a kernel can have at once.
    package static let maxThreads = 4_194_304
    /// Requests, warm-up requests, request numbers: a billion takes days at the fastest loopback rates.
    package static let maxRequests = 1_000_000_000
    /// CPUs (`--cores`, `cores` in counts): Linux's largest NR_CPUS.
    package static let maxCores = 8192
    /// A duration: a week, in nanoseconds.
    package static let maxNanoseconds: UInt64 = 7 * 24 * 3600 * 1_000_000_000
    /// How much of an offending line an error echoes, so a 100,000-character line does not flood the terminal.
    package static let maxEchoedLineCharacters = 200
}

/// Arithmetic over sizes and counts that saturates instead of trapping: a product past UInt64.max is reported as
/// "more than 16 EiB", which exceeds every limit it is compared with.
package enum SaturatingArithmetic {
    package static func product(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? .max : value
    }

    package static func sum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : value
    }
}
