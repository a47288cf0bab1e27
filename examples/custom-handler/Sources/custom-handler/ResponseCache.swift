import Foundation
import HighwaterHost

/// Keeps a copy of every answer it renders, keyed by the request, and never evicts one: memoization without a bound,
/// the leak Highwater should find with its insert as the site that holds the memory.
final class ResponseCache: Handler, @unchecked Sendable {
    /// Bytes rendered per answer.
    let entryBytes: Int
    private let lock = NSLock()
    /// Guarded by `lock`; only ever grows.
    private var entries: [Int: [UInt8]] = [:]

    init(entryBytes: Int = 16 << 10) { self.entryBytes = entryBytes }

    func respond(to request: Request) throws -> Response {
        let rendered = Self.render(request.index, bytes: entryBytes)
        insert(rendered, for: request.index)
        return Response(text: "cached \(rendered.count) bytes for request \(request.index)\n")
    }

    /// Stores a copy of `answer` of its own (the caller's buffer is freed once answered): the allocation that is
    /// never freed.
    @inline(never)
    func insert(_ answer: [UInt8], for key: Int) {
        let copy = [UInt8](unsafeUninitializedCapacity: answer.count) { buffer, count in
            count = buffer.initialize(fromContentsOf: answer)
        }
        lock.lock()
        entries[key] = copy
        lock.unlock()
    }

    /// An answer's bytes, different for each request.
    static func render(_ index: Int, bytes: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes) { buffer, count in
            for i in 0..<bytes { buffer[i] = UInt8(truncatingIfNeeded: i &+ index) }
            count = bytes
        }
    }
}
