@preconcurrency import Glibc
import Synchronization

/// Ctrl-C and SIGTERM as a flag that long loops poll, so they stop cleanly and leave their files
/// complete and their mounts and children cleaned up, instead of dying mid-write.
package enum Interruption {
    private static let received = Atomic<Int32>(0)

    /// Installs the handlers. A second Ctrl-C while we clean up restores the default and exits at once.
    package static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if Interruption.received.exchange(sig, ordering: .relaxed) != 0 {
                Glibc.signal(sig, SIG_DFL)
                raise(sig)
            }
        }
        Glibc.signal(SIGINT, handler)
        Glibc.signal(SIGTERM, handler)
        // Writes to a socket a peer closed must fail with EPIPE, not kill us.
        Glibc.signal(SIGPIPE, SIG_IGN)
    }

    /// The signal received, or nil.
    package static var signal: Int32? {
        let s = received.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    package static var requested: Bool { signal != nil }
}
