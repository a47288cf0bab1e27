@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterHarness
import HighwaterProbes
import HighwaterSystem
import Synchronization
import HighwaterHost

/// What the per-request path costs a handler: `RequestRecorder.start` and `finish` as the host calls them around
/// every request, timed in this process first with one arena (the best case), then after a pool of threads has
/// left its arenas fragmented, as a thread pool of a real server does. A reading whose cost grows with the arenas
/// disturbs exactly the runs Highwater exists to explain.
package enum RequestPathBenchmark {
    package struct Stage: Sendable {
        package var label: String
        package var arenas: Int?
        /// Median and 99th percentile of one start + finish pair, in nanoseconds.
        package var medianNs: Double
        package var p99Ns: Double
        /// The sampler thread's CPU time per timeline record of this process (statm, stat, fds, the heap and
        /// the arena count as the sampler reads them), sampling at 1 kHz.
        package var sampleCPUNs: Double
    }

    /// - Parameters:
    ///   - threads: the pool whose arenas are fragmented (each thread gets its own arena up to glibc's limit).
    ///   - blocks: small blocks each thread allocates, freeing every other one so the free lists stay long.
    package static func run(iterations: Int = 5_000, threads: Int = 40, blocks: Int = 20_000, scratch: String) throws -> [Stage] {
        let path = scratch + "/request-path.jsonl"
        Syscall.unlinkIfPresent(path)
        defer { Syscall.unlinkIfPresent(path) }
        let recorder = try RequestRecorder(config: "bench", path: path)
        var stages = [try time(recorder, label: "best case", iterations: iterations, scratch: scratch)]
        let kept = fragment(threads: threads, blocks: blocks)
        defer { for block in kept { free(block) } }
        stages.append(try time(recorder, label: "\(threads) threads' arenas fragmented", iterations: iterations, scratch: scratch))
        return stages
    }

    static func time(_ recorder: RequestRecorder, label: String, iterations: Int, scratch: String) throws -> Stage {
        var pairs: [Double] = []
        pairs.reserveCapacity(iterations)
        for i in 0..<iterations {
            let t0 = MonotonicClock.nanoseconds()
            let start = recorder.start(i: i, route: "/work")
            recorder.finish(start, status: 200)
            pairs.append(Double(MonotonicClock.nanoseconds() - t0))
        }
        let p = Percentiles.of(pairs)
        // The real sampler at 1 kHz for a second: its thread's CPU time per sample is what a timeline record costs,
        // with whatever it skips (the arena count once at glibc's cap, mallinfo2 under the agent) skipped.
        let path = scratch + "/request-path-samples.jsonl"
        Syscall.unlinkIfPresent(path)
        defer { Syscall.unlinkIfPresent(path) }
        let sampler = try Sampler(options: .init(intervalNs: 1_000_000), appendingTo: path)
        sampler.start()
        MonotonicClock.sleep(nanoseconds: 1_000_000_000)
        let totals = sampler.stop()
        let perSample = totals.samples > 0 ? Double(totals.threadCPUNs) / Double(totals.samples) : 0
        return Stage(label: label, arenas: try? AllocatorProbe.arenaCount(), medianNs: p.p50, p99Ns: p.p99,
                     sampleCPUNs: perSample)
    }

    /// Runs `threads` threads at once (so each takes an arena of its own rather than reusing one a finished
    /// thread left), each allocating `blocks` blocks of 16-1024 bytes and freeing every other one. The blocks
    /// kept hold the holes open; they are returned for the caller to free.
    static func fragment(threads: Int, blocks: Int) -> [UnsafeMutableRawPointer] {
        final class Work: @unchecked Sendable {
            var barrier = pthread_barrier_t()
            let blocks: Int
            /// Addresses, not pointers: they cross threads as plain numbers.
            let kept = Mutex<[UInt]>([])
            init(threads: Int, blocks: Int) {
                self.blocks = blocks
                pthread_barrier_init(&barrier, nil, UInt32(threads))
            }
        }
        let work = Work(threads: threads, blocks: blocks)
        var ids: [pthread_t] = []
        for _ in 0..<threads {
            var t = pthread_t()
            let box = Unmanaged.passRetained(work)
            let rc = pthread_create(&t, nil, { raw in
                let work = Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue()
                var mine: [UInt] = []
                mine.reserveCapacity(work.blocks / 2 + 1)
                var x = UInt64(truncatingIfNeeded: Int(bitPattern: raw)) | 1
                for i in 0..<work.blocks {
                    x = x &* 6364136223846793005 &+ 1442695040888963407
                    guard let block = malloc(16 + Int(x >> 54)) else { continue }
                    if i % 2 == 0 { mine.append(UInt(bitPattern: block)) } else { free(block) }
                }
                // Every thread holds its arena until all have theirs.
                pthread_barrier_wait(&work.barrier)
                work.kept.withLock { $0.append(contentsOf: mine) }
                return nil
            }, box.toOpaque())
            if rc == 0 { ids.append(t) } else { box.release() }
        }
        // Threads that could not start would leave the barrier waiting: the pool is as large as started.
        precondition(ids.count == threads, "could not start \(threads) threads")
        for t in ids { pthread_join(t, nil) }
        pthread_barrier_destroy(&work.barrier)
        return work.kept.withLock { $0 }.compactMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }
}
