@preconcurrency import Glibc
import HighwaterSessions
import HighwaterSystem
import Synchronization
import Testing

/// `watch`'s session driven in process: a real process watched, its series read from /metrics over loopback, the
/// session stopped from the test.
@Suite("The watch session, in process")
struct WatchSessionTests {
    @Test("a watched PID's figures are served on the port the session says it bound, until stopped")
    func servesAWatchedProcess() async throws {
        let child = try ChildProcess(["sleep", "60"])
        defer { TestSupport.end(child) }
        var spec = WatchSession.Spec(target: .pids([child.pid]))
        spec.listen = "127.0.0.1:0"
        spec.intervalNs = 50_000_000
        #expect(spec.problems().isEmpty)
        let watching = WatchingThread(WatchSession(spec))
        watching.start()
        defer { watching.stopAndJoin() }
        let bound = try #require(await TestSupport.poll(seconds: 60, stopIf: { watching.ended }) { watching.port.withLock { $0 } },
                                 "the session never said it serves: \(watching.outcome.withLock { $0 }.map { "\($0)" } ?? "")")
        #expect(bound > 0)
        let metrics = await TestSupport.poll(seconds: 30) { () -> String? in
            guard let text = HTTPGet.text(port: bound, path: "/metrics"),
                  RunningWatch.value(text, "process_resident_memory_bytes", pid: child.pid) != nil else { return nil }
            return text
        }
        let rss = try #require(metrics.flatMap { RunningWatch.value($0, "process_resident_memory_bytes", pid: child.pid) })
        #expect(rss > 0)
        watching.stopAndJoin()
        let reason = try #require(try watching.outcome.withLock { $0 }?.get())
        #expect(!reason.isEmpty)
    }

    /// The session on a thread of its own, as on the command's main thread: it blocks while it serves, and the
    /// test's waits must not queue behind it on the shared pool.
    final class WatchingThread: Sendable {
        let session: WatchSession
        let port = Mutex<Int?>(nil)
        let outcome = Mutex<Result<String, any Error>?>(nil)
        private let stop = Atomic<Bool>(false)
        private let thread = Mutex<pthread_t?>(nil)

        init(_ session: WatchSession) { self.session = session }

        var ended: Bool { outcome.withLock { $0 != nil } }

        func start() {
            var t = pthread_t()
            pthread_create(&t, nil, { raw in
                let me = Unmanaged<WatchingThread>.fromOpaque(raw!).takeRetainedValue()
                let result = Result {
                    try me.session.run(ready: { address in me.port.withLock { $0 = address.port } },
                                       stop: { me.stop.load(ordering: .relaxed) })
                }
                me.outcome.withLock { $0 = result }
                return nil
            }, Unmanaged.passRetained(self).toOpaque())
            thread.withLock { $0 = t }
        }

        func stopAndJoin() {
            stop.store(true, ordering: .relaxed)
            if let t = thread.withLock({ t in defer { t = nil }; return t }) { pthread_join(t, nil) }
        }
    }

    @Test("a spec says what is wrong with it before anything is served, first problem first")
    func problems() {
        var remote = WatchSession.Spec(target: .pids([-3]))
        remote.listen = "0.0.0.0:9464"
        let found = remote.problems()
        #expect(found.first == "--pid -3 is not a process ID; give the PID of a running process.")
        #expect(found.contains { $0.hasPrefix("--listen 0.0.0.0:9464 is not a loopback address") }, "\(found)")
        var agent = WatchSession.Spec(target: .match("python"))
        agent.agent = true
        agent.listen = "nowhere"
        #expect(agent.problems().first == "--listen 'nowhere' is not HOST:PORT; give e.g. 127.0.0.1:9464 or [::1]:0.")
        #expect(agent.problems().contains("--agent preloads into a command watch starts; give one after `--`."))
    }
}
