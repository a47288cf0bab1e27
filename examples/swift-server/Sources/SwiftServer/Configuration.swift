#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// What the environment sets: the listening port, the blocking pool's size and what `/leak` keeps per request.
struct Configuration {
    var host = "127.0.0.1"
    var port = 8080
    var workers = 40
    var leakBytes = 16 * 1024

    static func fromEnvironment() -> Configuration {
        var config = Configuration()
        config.port = positive("PORT", default: config.port)
        config.workers = positive("WORKERS", default: config.workers)
        config.leakBytes = positive("LEAK_BYTES", default: config.leakBytes)
        return config
    }

    private static func positive(_ name: String, default value: Int) -> Int {
        guard let raw = getenv(name) else { return value }
        guard let number = Int(String(cString: raw)), number > 0 else {
            logLine("\(name)=\(String(cString: raw)) is not a positive integer")
            exit(2)
        }
        return number
    }
}
