@preconcurrency import Glibc

/// Finding a program the way a shell does.
package enum Executable {
    /// The first `tool` on `path` (colon-separated, defaulting to this process's PATH) that may be executed.
    package static func find(_ tool: String, path: String? = nil) -> String? {
        if tool.contains("/") { return access(tool, X_OK) == 0 ? tool : nil }
        let search = path ?? ProcessEnvironment.current["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in search.split(separator: ":") where access("\(dir)/\(tool)", X_OK) == 0 {
            return "\(dir)/\(tool)"
        }
        return nil
    }

    /// This process's executable (to start again as a child), from /proc/self/exe.
    package static var current: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
