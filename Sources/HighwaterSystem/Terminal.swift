@preconcurrency import Glibc

/// Status lines on a terminal: rewritten in place, and only when stderr is a TTY.
package enum Terminal {
    package static let isInteractive = isatty(2) == 1

    package static func status(_ text: String) {
        guard isInteractive else { return }
        write("\r\u{1B}[2K" + text)
    }

    package static func clearStatus() {
        guard isInteractive else { return }
        write("\r\u{1B}[2K")
    }

    package static func line(_ text: String) {
        write(text + "\n")
    }

    /// Writes to stderr as it is (one write per call, so lines from several threads stay whole).
    package static func write(_ text: String) {
        var t = text
        t.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// Writes to stdout at once, past stdio's buffer: a line another program waits for (the port `watch` bound)
    /// must arrive when it is said, not when the buffer fills.
    package static func output(_ text: String) {
        var t = text
        t.withUTF8 { _ = Glibc.write(1, $0.baseAddress, $0.count) }
    }
}
