import HighwaterRecords
import Testing

/// Every kind of note renders its sentence in one place (Records/Findings): one example per kind, with the words the
/// harness, `record` and the summarizers wrote before the sentences moved there (the report and users match them).
@Suite("Finding kinds")
struct FindingKindsTests {
    static let census = ArenaCensusRecord(arenas_max: 3, heaps_max: 2, heap_resident_peak: 0, heap_resident_end: 0,
                                          main_heap_resident_end: 0, limit: 16, limit_source: "8 x cores", cores: 2,
                                          readings: 4, interval_ns: 1_000_000_000,
                                          finding: "glibc arenas (census of /proc/PID/smaps): 3 at most")

    static let examples: [(Finding, String)] = [
        (Finding("a sentence for people"), "a sentence for people"),
        (Finding.uploadBoundary(UploadBoundary(largestPassed: 63 << 20, smallestFailed: 64 << 20, failedStatus: 507))!,
         "uploads started failing at 64 MiB with status 507; the largest that passed was 63 MiB"),
        (.liveHeap(start: 1_048_576, end: 3 * 1_048_576, rssGrowth: 4 << 20, how: "read live from 1 process", census: nil),
         "The live heap (the agent, read live from 1 process) went from 1 MiB to 3 MiB over the phase, while RSS grew 4 MiB."),
        (.recordsLost(count: 12), "12 records could not be written: the results are incomplete"),
        (.targetEnded("signal 9 (SIGKILL)", load: (sent: 40, planned: 100)),
         "the target ended with signal 9 (SIGKILL) during the load (40 of 100 requests sent); the data up to then is kept"),
        (.attachedExited(pid: 4242), "PID 4242 exited while it was recorded; the record ends here with the data up to then"),
        (.timedOut(limitSeconds: 30), "timed out after 30 s (--time-limit): the load was stopped there"),
        (.childEnded("exit 3"), "the hosted child ended with exit 3"),
        (.killedAfterGrace(graceSeconds: 2.5),
         "the target ignored SIGTERM for the 2.5 s grace period and was killed (SIGKILL to its process group)"),
        (.escapedProcesses([101, 102], keptIn: "its process group"),
         "2 processes had left the target's process group and tree (a daemon: PIDs 101, 102); kept in its process group, they were ended with it"),
        (.leftBehind([7, 8]), "processes still alive after SIGKILL: 7, 8"),
        (.runFailed("cannot start the child"), "the run could not be carried out: cannot start the child"),
        (.notRecorded("port 8080 never answered"), "the target could not be recorded: port 8080 never answered"),
        (.settleWriteback(pendingBytes: 3 << 20, waitedSeconds: 10),
         "started with 3 MiB of earlier writes still on their way to disk after 10 s of waiting: its timings may include their writeback"),
        (.unsentRequests(sent: 60, planned: 100),
         "60 of 100 requests were sent; the 40 never sent are not counted (neither as errors nor as answers)"),
        (.loadStopped(.timeLimit, sent: 70, planned: 100),
         "stopped at the time limit after 70 of 100 requests; the 30 never sent are not counted (neither as errors nor as answers)"),
        (.noLoad(samples: 25), "no load in this phase: the target was watched (25 samples)"),
        (.failedRequests(5, statuses: [200: 95, 0: 2, 507: 3], first: "status 507"),
         "5 requests failed (2 x no answer, 3 x 507); the first: status 507"),
        (.firstFailedRequest("connection reset"), "the first failed request: connection reset"),
        (.loadSettled(true, last: (verdict: "plateau", seconds: 12)),
         "load.until settled: the verdict held over the last third of the run (plateau at 12 s), so the load stopped there"),
        (.peakNotReset("EACCES"), "the kernel's peak RSS (VmHWM) could not be reset for this phase (EACCES): rss_peak may be an earlier one"),
        (.noSample, "no sample was taken"),
        (.noRequest, "no request reached a handler"),
        (.plateauBegan(afterSeconds: 1.5), "the plateau began 1.5 s after sampling started"),
        (.rssMoved(Double(8 << 20), seconds: 4, warmupSeconds: 1),
         "RSS moved 8 MiB over 4 s after a warm-up of 1 s (2 MiB a second)"),
        (.againstChunked("download-chunked", throughput: 1.5, cpu: 0.5),
         "Against download-chunked: 1.5x the bytes per second, 0.5x the CPU per GiB."),
        (.idleTimeoutPending(idleSeconds: 90, loadSeconds: 20, heapPerCall: 2048, rssPerCall: 0),
         "A client per request keeps its call's connection state after its shutdown until its pool's idle timer fires (idle_timeout 90 s); this load lasted 20 s, so the live heap grew 2 KiB per call here, and that memory would be freed once calls are older than the idle timeout. Run longer than that, or set a shorter idle_timeout, to see the level."),
        (.heapNotReadable,
         "the agent's live heap was not readable during this phase (no live file from the target): its figures come from the events file after the target exits, if at all"),
        (.noAllocationEvents,
         "the agent wrote no allocation events: the target ended without running its exit handlers (SIGKILL, _exit), or never allocated"),
        (.profilesInterrupted(eventsFile: "alloc-events.bin"),
         "allocation profiles not made: interrupted (the agent's raw events are kept in alloc-events.bin)"),
        (.profilesNotSymbolized(mapsPath: "/tmp/run/alloc-events.bin.maps"),
         "allocation samples not symbolized: the child wrote no memory map (/tmp/run/alloc-events.bin.maps); it ended before exit"),
        (.profilesNotWritten("truncated record"), "allocation profiles not written: truncated record"),
        (Finding.allocationSampling([Finding.unwinderMemory(Double(2 << 20), perThread: 65536, threads: 32),
                                     Finding.pythonRecorded(version: "3.11.7", pymalloc: false),
                                     Finding.processesSummed([10, 11]), Finding.unnamedProcesses([12]),
                                     Finding.shortLivedDescendants([13])])!,
         "The allocation sampling held up to about 2 MiB resident outside the heap: libunwind keeps a trace cache of 64 KiB in each "
            + "thread that captures a stack, and 32 such threads were alive at once; the RSS figures include it "
            + "(HIGHWATER_AGENT_SAMPLE_BYTES=off counts without stacks). "
            + "Python 3.11.7: its frames are recorded beside the native ones (on threads holding the GIL); a Python site is named "
            + "`function (file:line)`. "
            + "The allocation profiles sum 2 processes: PIDs 10, 11. Left out of the allocation profiles, with no memory map to name their frames: PID 12. "
            + "Left out of the allocation profiles: 1 short-lived descendant (sampling for under a tenth of the longest), PIDs 13."),
        (.uploads(workload: "upload-buffered", WorkloadFigures([.uploadFileBytes: Double(1 << 20), .uploadsPassed: 3, .uploadsFailed: 1]),
                  tmpfs: false, firstError: "status 507"),
         "upload-buffered: 3 upload(s) of up to 1 MiB passed, 1 failed. First error: status 507."),
        (.downloads(workload: "download-chunked", WorkloadFigures([.bytesServed: Double(1 << 30), .bytesPerSecond: Double(512 << 20)]),
                    errorKinds: ["reset": 2], secondsPerTick: 0.01),
         "download-chunked: 1 GiB served at 512 MiB/s; errors: 2 reset."),
        (.arenaCensus(census), "glibc arenas (census of /proc/PID/smaps): 3 at most"),
        (.tempDirFiller("the largest file held open: /tmp/upload-1 (4 MiB)"), "the largest file held open: /tmp/upload-1 (4 MiB)"),
    ]

    @Test("every kind renders its sentence, word for word")
    func everyKindRenders() {
        for (finding, sentence) in Self.examples { #expect(finding.text == sentence, "\(finding.kind)") }
        let shown = Set(Self.examples.map(\.0.kind.rawValue))
        #expect(Finding.Kind.allCases.filter { !shown.contains($0.rawValue) }.isEmpty, "a kind without an example")
    }

    @Test("every kind survives summary.json beside notes that stay strings")
    func everyKindStored() throws {
        var run = RunSummary(scenario: "s", run_id: "1", config: "c")
        for (finding, _) in Self.examples { run.note(finding) }
        let read = try RecordCoding.decode(RunSummary.self, from: RecordCoding.document(run))
        #expect(read.findings == Self.examples.map(\.0))
        #expect(read.notes == Self.examples.map(\.1))
    }
}
