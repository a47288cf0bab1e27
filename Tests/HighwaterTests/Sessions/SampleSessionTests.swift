@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSessions
import HighwaterSystem
import Synchronization
import Testing

/// `sample`'s session driven in process: real processes sampled, the files it writes read back, its lines collected.
@Suite("The sample session, in process")
struct SampleSessionTests {
    /// The lines a session says, gathered from whichever thread says them.
    final class Lines: Sendable {
        private let said = Mutex<[String]>([])
        func say(_ line: String) { said.withLock { $0.append(line) } }
        var all: [String] { said.withLock { $0 } }
    }

    @Test("a command started and sampled to its exit: samples.jsonl, summary.json with its verdict, and the lines that say them",
          .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func sampledCommand() throws {
        let out = TestSupport.makeTemporaryDirectory("hw-sample-session")
        defer { TestSupport.removeTree(out) }
        // 64 MiB touched and held for a moment: the sampled peak must see it.
        var spec = SampleSession.Spec(target: .command([TestSupport.which("python3")!, "-c",
                                                        "import time\nx = bytearray(64 << 20)\ntime.sleep(0.8)"]))
        spec.out = out
        spec.intervalNs = 5_000_000
        spec.warmupNs = 100_000_000
        #expect(spec.problems().isEmpty)
        let lines = Lines()
        let outcome = try SampleSession(spec, say: lines.say).run()
        #expect(outcome.reason == "the command exited (status 0)", "\(outcome.reason)")
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(out + "/samples.jsonl"))
        #expect(samples.count == outcome.totals.samples && samples.count >= 20, "\(samples.count) samples")
        #expect(samples.allSatisfy { $0.pid == outcome.pid })
        #expect((samples.map(\.rss).max() ?? 0) >= 64 << 20, "the 64 MiB the child touched")
        let stored = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(out + "/summary.json"))
        let run = try #require(stored.runs.first)
        #expect(stored.runs.count == 1 && run.scenario == "sample")
        #expect(run.growth.classification == outcome.summary.growth.classification)
        #expect(run.config == outcome.summary.config && run.config.hasSuffix("time.sleep(0.8)"), "\(run.config)")
        let said = lines.all
        #expect(said.first?.hasPrefix("sampled PID \(outcome.pid): peak RSS ") == true, "\(said)")
        #expect(said.contains { $0.hasPrefix("verdict: ") && $0.hasSuffix("-> \(out)/summary.json") }, "\(said)")
    }

    @Test("a running process is sampled for the duration and left running")
    func attachedForADuration() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-sample-session-pid")
        defer { TestSupport.removeTree(out) }
        let child = try ChildProcess(["sleep", "60"])
        defer { TestSupport.end(child) }
        var spec = SampleSession.Spec(target: .pid(child.pid))
        spec.out = out
        spec.durationNs = 300_000_000
        let outcome = try SampleSession(spec, say: { _ in }).run()
        #expect(outcome.reason == "duration passed", "\(outcome.reason)")
        #expect(outcome.pid == child.pid && outcome.totals.samples > 0)
        #expect(child.poll() == nil, "the attached process was ended")
        let run = try #require(try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(out + "/summary.json")).runs.first)
        #expect(run.config == "pid \(child.pid)")
    }

    @Test("a command that ends at once is sampled for as long as it lived, however short: its exit said, a verdict written")
    func commandThatEndsAtOnce() throws {
        let out = TestSupport.makeTemporaryDirectory("hw-sample-session-quick")
        defer { TestSupport.removeTree(out) }
        var spec = SampleSession.Spec(target: .command(["sh", "-c", "exit 4"]))
        spec.out = out
        let lines = Lines()
        // Whether the sampler read it once before it ended or found it gone is the machine's timing: both are a sample.
        let outcome = try SampleSession(spec, say: lines.say).run()
        #expect(outcome.reason == "the command exited (status 4)", "\(outcome.reason)")
        #expect(lines.all.first?.hasPrefix("sampled PID \(outcome.pid): ") == true, "\(lines.all)")
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(out + "/samples.jsonl"))
        #expect(samples.count == outcome.totals.samples)
        let run = try #require(try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(out + "/summary.json")).runs.first)
        // Too little to judge: inconclusive over a few samples, not run over none.
        #expect(run.scenario == "sample" && [.inconclusive, .notRun].contains(run.growth.classification), "\(run.growth)")
    }

    @Test("a spec says what is wrong with it before anything starts, first problem first")
    func problems() {
        var agentOnPID = SampleSession.Spec(target: .pid(-1))
        agentOnPID.agent = true
        #expect(agentOnPID.problems().first == "--agent preloads into a command Highwater starts; give one after `--`.")
        #expect(agentOnPID.problems().contains { $0.hasPrefix("--pid -1 is not a process ID") })
        var missingDir = SampleSession.Spec(target: .command(["true"]))
        missingDir.watchDir = "/nonexistent/hw-sample-session"
        #expect(missingDir.problems() == ["--watch-dir '/nonexistent/hw-sample-session' is not a directory; give the directory the command writes its temporary files to (e.g. /tmp)."])
    }

    @Test("a command that cannot start could not run (exit 3), naming it")
    func commandThatCannotStart() throws {
        let out = TestSupport.makeTemporaryDirectory("hw-sample-session-bad")
        defer { TestSupport.removeTree(out) }
        var spec = SampleSession.Spec(target: .command([out + "/no-such-program"]))
        spec.out = out
        #expect {
            try SampleSession(spec, say: { _ in }).run()
        } throws: { error in
            guard let failure = error as? HighwaterFailure else { return false }
            return failure.exitStatus == 3 && failure.description.hasPrefix("could not start \(out)/no-such-program")
        }
    }
}
