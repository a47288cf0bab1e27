#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A line on stderr, unbuffered, even into a pipe: `highwater record` shows a target's last lines when it fails.
func logLine(_ line: String) {
    var text = "swift-server: " + line + "\n"
    text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
