@preconcurrency import Glibc
import HighwaterSystem
import HighwaterWorkloads

/// A variant's `LD_PRELOAD` (jemalloc, tcmalloc): checked before the child starts, because the dynamic
/// loader only warns about a missing preload and runs the child on glibc's malloc, which would then be
/// reported as the allocator asked for.
package enum Preload {
    /// The libraries the loader would search for by name, in Debian's multiarch layout.
    static let searchDirectories = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/x86_64-linux-gnu",
                                    "/lib/aarch64-linux-gnu", "/usr/lib", "/lib", "/usr/local/lib"]

    package static func check(_ environment: [String: String]) throws {
        guard let value = environment["LD_PRELOAD"], value != "unset" else { return }
        let names = value.split(whereSeparator: { $0 == ":" || $0 == " " }).map(String.init)
        for name in names where resolve(name) == nil {
            let package = name.contains("jemalloc") ? " (Debian: libjemalloc2)" : name.contains("tcmalloc") ? " (Debian: libtcmalloc-minimal4)" : ""
            throw HarnessError.storage("LD_PRELOAD names \(name), which does not exist\(package); install it (scripts/install-deps does) or fix the path in the scenario")
        }
    }

    /// The file a preload entry names: a path as given, or a bare name found in the library directories.
    package static func resolve(_ name: String) -> String? {
        if name.contains("/") { return Syscall.canAccess(name, R_OK) ? name : nil }
        return searchDirectories.map { $0 + "/" + name }.first { Syscall.canAccess($0, R_OK) }
    }
}
