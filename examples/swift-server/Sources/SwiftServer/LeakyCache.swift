import Synchronization

/// Keeps some bytes for every request and never evicts: the steady growth `highwater record` should call a leak.
/// A global, as such caches usually are: it lives until the process exits, so the allocation agent, which takes
/// what is still allocated at exit, sees it held (a cache freed on the way out would show nothing retained).
final class LeakyCache: Sendable {
    static let shared = LeakyCache()

    private let entries = Mutex<[Int: [UInt8]]>([:])

    /// Adds an entry of `bytes`; returns how many there are.
    func keep(_ bytes: Int) -> Int {
        let entry = [UInt8](repeating: 0x2a, count: bytes)
        return entries.withLock { entries in
            entries[entries.count] = entry
            return entries.count
        }
    }
}
