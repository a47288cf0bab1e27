/// Sizes and durations as people write them: `64 MiB`, `1GB`, `10ms`, `5s`.
package enum Quantity {
    package static let byteUnits: [(String, Double)] = [
        ("b", 1), ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12), ("pb", 1e15),
        ("kib", 1024), ("mib", 1_048_576), ("gib", 1_073_741_824), ("tib", 1_099_511_627_776), ("pib", 1_125_899_906_842_624),
        ("k", 1024), ("m", 1_048_576), ("g", 1_073_741_824),
    ]
    package static let durationUnits: [(String, Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("min", 60e9), ("h", 3600e9),
        // Days, so the largest duration the errors name (7 days) can be written as they write it.
        ("d", 86_400e9), ("day", 86_400e9), ("days", 86_400e9),
    ]

    /// Bytes from `64 MiB`, `1.5GB`, `4096`; nil when the text is not a size or the size does not fit in 64 bits.
    package static func bytes(_ text: String) -> UInt64? {
        byteMagnitude(text).flatMap(exactUInt64)
    }

    /// The size a text writes, before it is checked against any range (so an error can say "too large").
    package static func byteMagnitude(_ text: String) -> Double? {
        guard let (value, unit) = split(text), value >= 0 else { return nil }
        if unit.isEmpty { return value == value.rounded() ? value : nil }
        guard let factor = byteUnits.first(where: { $0.0 == unit.lowercased() })?.1 else { return nil }
        return (value * factor).rounded()
    }

    /// Nanoseconds from `10ms`, `5s`, `1.5 min`; nil when the text is not a duration with a unit, or too long for 64 bits.
    package static func nanoseconds(_ text: String) -> UInt64? {
        durationMagnitude(text).flatMap(exactUInt64)
    }

    package static func durationMagnitude(_ text: String) -> Double? {
        guard let (value, unit) = split(text), value >= 0, !unit.isEmpty,
              let factor = durationUnits.first(where: { $0.0 == unit.lowercased() })?.1 else { return nil }
        return (value * factor).rounded()
    }

    /// `UInt64(x)` traps past 2^64 and on infinity; this says nil.
    static func exactUInt64(_ x: Double) -> UInt64? {
        x.isFinite && x >= 0 && x < 18_446_744_073_709_551_616.0 ? UInt64(x) : nil
    }

    private static func split(_ text: String) -> (Double, String)? {
        let t = text.filter { $0 != " " && $0 != "_" }
        guard let end = t.firstIndex(where: { !($0.isNumber || $0 == "." || $0 == "-" || $0 == "+") }) ?? Optional(t.endIndex),
              let value = Double(t[..<end]) else { return nil }
        return (value, String(t[end...]))
    }

    /// `1.5 GiB`, `640 KiB`, `12 B`: binary units, three significant figures.
    package static func formatBytes<T: BinaryInteger>(_ value: T) -> String {
        let v = Double(value)
        let sign = v < 0 ? "-" : ""
        var m = abs(v)
        for unit in ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] {
            if m < 1024 || unit == "EiB" {
                if unit == "B" { return "\(sign)\(Int(m)) B" }
                return sign + format(m, significant: 3) + " " + unit
            }
            m /= 1024
        }
        return "\(value) B"
    }

    package static func formatBytes(_ value: Double) -> String {
        guard value.isFinite else { return "\(value) B" }
        return formatBytes(Int64(exactly: value.rounded()) ?? (value < 0 ? .min : .max))
    }

    /// `850 µs`, `12.3 ms`, `4.20 s`.
    package static func formatDuration(nanoseconds ns: Double) -> String {
        guard ns.isFinite else { return "\(ns) ns" }
        if ns < 1e3 { return "\(Int(ns)) ns" }
        if ns < 1e6 { return format(ns / 1e3, significant: 3) + " µs" }
        if ns < 1e9 { return format(ns / 1e6, significant: 3) + " ms" }
        return format(ns / 1e9, significant: 3) + " s"
    }

    /// A number with about `significant` figures, without trailing zeros after the point.
    package static func format(_ x: Double, significant: Int = 3) -> String {
        guard x.isFinite else { return "\(x)" }
        if x == 0 { return "0" }
        let digitsBefore = max(1, Int((log10Approx(abs(x))).rounded(.down)) + 1)
        let decimals = max(0, significant - digitsBefore)
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (x * scale).rounded() / scale
        var s = decimals == 0 ? (Int64(exactly: rounded).map { String($0) } ?? String(rounded)) : String(rounded)
        if s.contains("."), !s.contains("e") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    private static func log10Approx(_ x: Double) -> Double {
        var v = x, e = 0.0
        while v >= 10 { v /= 10; e += 1 }
        while v < 1 { v *= 10; e -= 1 }
        return e
    }
}
