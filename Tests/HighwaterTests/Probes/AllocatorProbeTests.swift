@preconcurrency import Glibc
import HighwaterProbes
import Testing
import Foundation

@Suite("glibc allocator probe")
struct AllocatorProbeTests {
    @Test("K threads that allocate show at least min(K, 8 x cores) arenas in the real malloc_info")
    func arenasFollowThreads() throws {
        let k = 6
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        // Each thread allocates, then waits so that no two threads share an arena freed by an exit.
        final class Gate: @unchecked Sendable {
            var mutex = pthread_mutex_t()
            var cond = pthread_cond_t()
            var allocated = 0
            var release = false
            init() { pthread_mutex_init(&mutex, nil); pthread_cond_init(&cond, nil) }
        }
        let gate = Gate()
        var threads: [pthread_t] = []
        for _ in 0..<k {
            var t = pthread_t()
            let box = Unmanaged.passRetained(gate).toOpaque()
            pthread_create(&t, nil, { raw in
                let gate = Unmanaged<Gate>.fromOpaque(raw!).takeRetainedValue()
                let p = malloc(64 << 10)!
                memset(p, 1, 64 << 10)
                pthread_mutex_lock(&gate.mutex)
                gate.allocated += 1
                pthread_cond_broadcast(&gate.cond)
                while !gate.release { pthread_cond_wait(&gate.cond, &gate.mutex) }
                pthread_mutex_unlock(&gate.mutex)
                free(p)
                return nil
            }, box)
            threads.append(t)
        }
        pthread_mutex_lock(&gate.mutex)
        while gate.allocated < k { pthread_cond_wait(&gate.cond, &gate.mutex) }
        pthread_mutex_unlock(&gate.mutex)
        let arenas = try AllocatorProbe.arenas()
        pthread_mutex_lock(&gate.mutex)
        gate.release = true
        pthread_cond_broadcast(&gate.cond)
        pthread_mutex_unlock(&gate.mutex)
        threads.forEach { pthread_join($0, nil) }

        #expect(arenas.count >= min(k, 8 * cores))
        // The sampler's quick count agrees with the full parse (arenas are never destroyed, so it cannot shrink).
        #expect(try AllocatorProbe.arenaCount() >= arenas.count)
        #expect(try AllocatorProbe.arenaCount() == AllocatorProbe.arenas().count)
        #expect(arenas.first?.index == 0)
        #expect(arenas.allSatisfy { $0.systemMax >= $0.systemCurrent })
        #expect(arenas.dropFirst().allSatisfy { $0.subheaps >= 1 })
    }

    @Test("mallinfo2 totals move with a real allocation")
    func totals() {
        let before = AllocatorProbe.totals()
        let size = 256 << 10
        let p = malloc(size)!
        memset(p, 1, size)
        let during = AllocatorProbe.totals()
        free(p)
        #expect(during.inUse >= before.inUse + UInt64(size) / 2)
        #expect(during.system >= during.inUse / 2)
    }

    @Test("malloc_info parsing rejects truncated and garbled copies of real output")
    func truncatedMallocInfo() throws {
        let xml = try AllocatorProbe.mallocInfoXML()
        #expect(try AllocatorProbe.parseMallocInfo(xml).count >= 1)
        let cut = String(xml.prefix(xml.count / 2))
        #expect(throws: ProbeError.self) { _ = try AllocatorProbe.parseMallocInfo(cut) }
        #expect(throws: ProbeError.self) { _ = try AllocatorProbe.parseMallocInfo("not xml at all") }
        let nested = xml.replacingFirst("</heap>", with: "<heap nr=\"9\">")
        #expect(throws: ProbeError.self) { _ = try AllocatorProbe.parseMallocInfo(nested) }
    }

    @Test("malloc_trim and M_ARENA_MAX wrappers reach glibc")
    func wrappers() {
        // Returns whether memory was released; either answer is valid, the call must not crash.
        _ = AllocatorProbe.trim()
        // The cap the sampler stops counting at follows it, and goes back after.
        let limit = AllocatorProbe.arenaLimit
        #expect(AllocatorProbe.setArenaMax(limit + 7))
        #expect(AllocatorProbe.arenaLimit == limit + 7)
        #expect(AllocatorProbe.setArenaMax(limit))
        #expect(AllocatorProbe.arenaLimit == limit)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return replacingCharacters(in: r, with: replacement)
    }
}
