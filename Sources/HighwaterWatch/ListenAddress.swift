import HighwaterSystem

/// Where `watch` serves: an IPv4 or IPv6 literal and a port (0: one the kernel picks, said on stdout). Only loopback
/// unless asked: the figures name processes and their commands, and a heap profile shows code and data sizes.
package struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int

    package static let `default` = ListenAddress(host: "127.0.0.1", port: 9464)

    package init(host: String, port: Int) { self.host = host; self.port = port }

    /// `127.0.0.1:9464`, `[::1]:0`, or `:9464` (loopback).
    package init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        guard Self.isIPv4(host) || host.contains(":") || host == "localhost" else { return nil }
        self.host = host == "localhost" ? "127.0.0.1" : host
        self.port = port
    }

    /// 127.0.0.0/8 and ::1.
    package var isLoopback: Bool {
        if host == "::1" { return true }
        return Self.isIPv4(host) && host.hasPrefix("127.")
    }

    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func isIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
