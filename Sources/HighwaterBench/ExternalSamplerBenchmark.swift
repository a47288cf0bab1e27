@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// What sampling another process costs, beside the two references that matter to a user: psrecord (PyPI),
/// which people use for the same job, and a bare thread that only wakes at the same rate, the floor any
/// sampler pays on this machine. All three run at once on the same target, so a busy machine bends them alike.
package enum ExternalSamplerBenchmark {
    /// One contender at one interval.
    package struct Share: Sendable {
        package var name: String
        /// CPU time over wall time, as a fraction of one core.
        package var cpuShare: Double
        /// Samples taken within one interval of their deadline, over the samples the interval asks for.
        package var onTime: Double
        package var samples: Int
        package var expected: Int
    }

    package struct Round: Sendable {
        package var intervalNs: UInt64
        package var contenders: [Share]
        /// Why psrecord is not among the contenders, when it is not.
        package var psrecordNote: String?
    }

    /// The cost of one `ProcessProbe.sample` against a target with `threads` threads, taken 1 ms apart as the
    /// sampler at 1 ms takes them (stat read once per 10 ms tick), and of the stat read alone (which a 10 ms
    /// sampler makes every sample, and which the kernel makes by walking every thread).
    package struct PerThreads: Sendable {
        package var threads: Int
        package var medianNs: Double
        package var p99Ns: Double
        package var statMedianNs: Double
    }

    /// A python3 child with `threads` threads in all (the main one included) that has touched `bytes`, idle;
    /// `arguments` go on its command line (a token for `watch --match`).
    package static func startTarget(python: String, threads: Int, bytes: Int, arguments: [String] = []) throws -> ChildProcess {
        let script = """
            import threading, time
            b = bytearray(\(bytes))
            for i in range(0, len(b), 4096): b[i] = 1
            for _ in range(\(max(0, threads - 1))): threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
            time.sleep(3600)
            """
        let child = try ChildProcess([python, "-c", script] + arguments)
        // Wait for the threads to exist, so every contender samples the same process.
        let probe = try ProcessProbe(pid: child.pid)
        let deadline = MonotonicClock.nanoseconds() + 30_000_000_000
        while (try? probe.stat().numThreads) ?? 0 < UInt64(threads), MonotonicClock.nanoseconds() < deadline {
            MonotonicClock.sleep(nanoseconds: 10_000_000)
        }
        return child
    }

    /// Runs Highwater's sampler, psrecord and a bare timer side by side on `pid` for `seconds` at each interval.
    package static func compare(pid: Int32, intervalsNs: [UInt64], seconds: Double, psrecordPython: String?,
                               scratch: String) throws -> [Round] {
        try intervalsNs.map { interval in
            let path = scratch + "/bench-external-samples.jsonl"
            Syscall.unlinkIfPresent(path)
            defer { Syscall.unlinkIfPresent(path) }
            let sampler = try Sampler(options: .init(intervalNs: interval, pid: pid), appendingTo: path)
            let psrecord = try psrecordPython.map {
                try PsrecordRun(python: $0, pid: pid, intervalNs: interval, seconds: seconds, scratch: scratch)
            }
            let timer = BareTimer(intervalNs: interval, seconds: seconds)
            let wall0 = MonotonicClock.nanoseconds()
            sampler.start()
            timer.start()
            MonotonicClock.sleep(nanoseconds: UInt64(seconds * 1e9))
            let totals = sampler.stop()
            let wall = Double(MonotonicClock.nanoseconds() - wall0)
            let floor = timer.join()
            let expected = Int((seconds * 1e9 / Double(interval)).rounded())
            var contenders = [Share(name: "highwater", cpuShare: Double(totals.threadCPUNs) / wall,
                                    onTime: Double(totals.samples - totals.late) / Double(expected),
                                    samples: totals.samples, expected: expected)]
            var note: String?
            if let psrecord {
                switch psrecord.finish(expected: expected) {
                case .success(let share): contenders.append(share)
                case .failure(let why): note = why.message
                }
            } else {
                note = "psrecord not installed: scripts/install-deps pip:psrecord (or make bench) puts it in .venv/"
            }
            contenders.append(floor)
            return Round(intervalNs: interval, contenders: contenders, psrecordNote: note)
        }
    }

    /// One sample's cost against targets with each thread count; the target is started and stopped here.
    package static func perThreads(python: String, counts: [Int], iterations: Int) throws -> [PerThreads] {
        try counts.map { n in
            let child = try startTarget(python: python, threads: n, bytes: 8 << 20)
            defer { child.terminate(grace: 200_000_000) }
            let probe = try ProcessProbe(pid: child.pid)
            var times: [Double] = []
            var stats: [Double] = []
            times.reserveCapacity(iterations)
            for _ in 0..<iterations {
                MonotonicClock.sleep(nanoseconds: 1_000_000)
                let t0 = MonotonicClock.nanoseconds()
                _ = try probe.sample()
                let t1 = MonotonicClock.nanoseconds()
                _ = try probe.stat()
                times.append(Double(t1 - t0))
                stats.append(Double(MonotonicClock.nanoseconds() - t1))
            }
            let p = Percentiles.of(times)
            return PerThreads(threads: Int((try? probe.stat().numThreads) ?? UInt64(n)), medianNs: p.p50, p99Ns: p.p99,
                              statMedianNs: Percentiles.of(stats).p50)
        }
    }

    /// The venv python that has `tool` (psrecord, uvicorn) installed, looked for in `.venv/` above the running executable.
    package static func venvPython(with tool: String) -> String? {
        var dir = Executable.current
        for _ in 0..<6 {
            guard let slash = dir.lastIndex(of: "/") else { break }
            dir = String(dir[..<slash])
            let python = dir + "/.venv/bin/python"
            if Syscall.canAccess(python, X_OK), Syscall.canAccess(dir + "/.venv/bin/" + tool, X_OK) { return python }
        }
        return nil
    }
}

struct BenchFailure: Error {
    var message: String
}

/// psrecord sampling `pid`, run as its own Python process; it reports its CPU time from `getrusage`, taken
/// after its imports so Python's start-up is not charged to sampling.
final class PsrecordRun {
    let child: ChildProcess
    let log: String
    let report: String
    let seconds: Double

    init(python: String, pid: Int32, intervalNs: UInt64, seconds: Double, scratch: String) throws {
        log = scratch + "/bench-psrecord.log"
        report = scratch + "/bench-psrecord.out"
        self.seconds = seconds
        let script = """
            import sys, time, resource, psutil
            from psrecord.main import monitor
            r0 = resource.getrusage(resource.RUSAGE_SELF); t0 = time.monotonic()
            monitor(int(sys.argv[1]), logfile=sys.argv[4], duration=float(sys.argv[3]), interval=float(sys.argv[2]))
            r1 = resource.getrusage(resource.RUSAGE_SELF); t1 = time.monotonic()
            print(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, t1 - t0)
            """
        child = try ChildProcess([python, "-c", script, "\(pid)", "\(Double(intervalNs) / 1e9)", "\(seconds)", log],
                                 stdout: .file(report), stderr: .null)
    }

    func finish(expected: Int) -> Result<ExternalSamplerBenchmark.Share, BenchFailure> {
        let ended = child.wait(timeoutNs: UInt64((seconds + 30) * 1e9)) ?? child.terminate()
        defer { Syscall.unlinkIfPresent(log); Syscall.unlinkIfPresent(report) }
        let out = ((try? FileTree.readText(report)) ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
        guard ended.succeeded, out.count == 2, out[1] > 0 else {
            return .failure(BenchFailure(message: "psrecord did not finish (\(ended)); run it by hand: .venv/bin/psrecord PID --interval 0.01"))
        }
        let lines = ((try? FileTree.readText(log)) ?? "").split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        // psrecord sleeps a whole interval after each sample, so every sample it takes is as on time as it gets.
        return .success(.init(name: "psrecord", cpuShare: out[0] / out[1], onTime: Double(lines) / Double(expected),
                              samples: lines, expected: expected))
    }
}

/// A thread that only sleeps to absolute deadlines at the sampler's rate: the floor of any sampler.
final class BareTimer: @unchecked Sendable {
    let intervalNs: UInt64
    let seconds: Double
    private var thread = pthread_t()
    private var result = ExternalSamplerBenchmark.Share(name: "bare timer", cpuShare: 0, onTime: 0, samples: 0, expected: 0)

    init(intervalNs: UInt64, seconds: Double) {
        self.intervalNs = intervalNs
        self.seconds = seconds
    }

    func start() {
        let box = Unmanaged.passRetained(self)
        pthread_create(&thread, nil, { raw in
            let timer = Unmanaged<BareTimer>.fromOpaque(raw!).takeRetainedValue()
            timer.loop()
            return nil
        }, box.toOpaque())
    }

    /// Waits for the thread and returns its share.
    func join() -> ExternalSamplerBenchmark.Share {
        pthread_join(thread, nil)
        return result
    }

    private func loop() {
        let cpu0 = MonotonicClock.threadCPUNanoseconds()
        let wall0 = MonotonicClock.nanoseconds()
        let end = wall0 + UInt64(seconds * 1e9)
        var deadline = wall0
        var ticks = 0
        var late = 0
        while true {
            deadline += intervalNs
            if deadline >= end { break }
            MonotonicClock.sleep(until: deadline)
            ticks += 1
            if MonotonicClock.nanoseconds() > deadline + intervalNs { late += 1 }
        }
        let wall = Double(MonotonicClock.nanoseconds() - wall0)
        let expected = Int((seconds * 1e9 / Double(intervalNs)).rounded())
        result = .init(name: "bare timer", cpuShare: Double(MonotonicClock.threadCPUNanoseconds() - cpu0) / wall,
                       onTime: Double(ticks - late) / Double(expected), samples: ticks, expected: expected)
    }
}
