@preconcurrency import Glibc
import HighwaterRecords
import HighwaterProbes
import NIOHTTP1
import HighwaterSystem

/// The child process's side of a run (`highwater host`): serve one configuration, sample itself,
/// record every request, and stop cleanly when asked.
package enum HostedConfiguration {
    package struct Files: Sendable {
        package var directory: String
        package var portFile: String
        package init(directory: String, portFile: String) { self.directory = directory; self.portFile = portFile }
        package var samples: String { directory + "/samples.jsonl" }
        package var requests: String { directory + "/requests.jsonl" }
        /// Written only when records were lost.
        package var losses: String { directory + "/lost.json" }
        /// The allocator and its arenas at the end of the run.
        package var arenas: String { directory + "/arenas.json" }
        /// What the watched temp dir's filesystem did; written only when one was watched.
        package var watch: String { directory + "/watch.json" }
    }

    /// Serves until the shutdown route is called, SIGTERM arrives, or `maxSeconds` pass; ends at once when
    /// the `lifeline` to the parent is cut.
    package static func serve(plan: RunPlan, files: Files, routes makeRoutes: RouteMaker, record: Bool = true,
                              maxSeconds: Double = 3600, lifeline: Lifeline.End? = nil) throws {
        let executor = try Executors.make(kind: plan.executor.kind, size: plan.executor.size)
        let recorder = try RequestRecorder(config: plan.config, path: record ? files.requests : nil, enabled: record)
        let routes = try makeRoutes(HostContext(plan: plan, recorder: recorder, executor: executor))

        let sampler = try Sampler(options: .init(intervalNs: plan.sampleIntervalNs, tmpDir: plan.storage.tempDir),
                                  appendingTo: files.samples)
        _ = try? sampler.sampleOnce()
        sampler.start()
        let server = try HostServer(executor: executor, makeSession: routes.factory)
        try publish(port: server.port, to: files.portFile)

        let deadline = MonotonicClock.nanoseconds() + UInt64(maxSeconds * 1e9)
        while !server.shutdownRequested && !Interruption.requested && MonotonicClock.nanoseconds() < deadline {
            lifeline?.endIfCut()
            MonotonicClock.sleep(nanoseconds: 5_000_000)
        }
        if Interruption.requested && !server.shutdownRequested {
            // The parent's watchdog (a run past its time limit) or a user: the run's stderr tail says so.
            Terminal.write("highwater host: stopped by a signal before the run ended (SIGTERM from a time limit, or Ctrl-C)\n")
        }
        // Let the shutdown response leave before closing.
        MonotonicClock.sleep(nanoseconds: 20_000_000)
        server.close()
        routes.tearDown()
        executor.shutdown()
        let totals = sampler.stop()
        _ = try? sampler.sampleOnce()
        if !totals.watched.isEmpty {
            do { try FileTree.writeAtomically(try RecordCoding.document(totals.watched), to: files.watch) } catch {
                Terminal.write("highwater host: the temp dir's figures could not be written to \(files.watch): \(error)\n")
            }
        }
        report(RecordLosses(samples: sampler.lost.records, requests: recorder.lost.records,
                            first_error: (sampler.lost.firstError ?? recorder.lost.firstError)?.description), to: files)
        writeArenas(to: files.arenas)
    }

    /// Each glibc arena's high water (bytes it ever took from the system), for the explanation of growth;
    /// the allocator's name alone under another allocator.
    static func writeArenas(to path: String) {
        let arenas = ActiveAllocator.isGlibc ? (try? AllocatorProbe.arenas())?.map(\.systemMax) : nil
        let report = AllocatorReport(allocator: ActiveAllocator.name, arena_high_water: arenas)
        do {
            try FileTree.writeAtomically(try RecordCoding.document(report), to: path)
        } catch {
            // The summary then explains growth without per-arena figures; say why on stderr (host.log).
            Terminal.write("highwater host: \(path) could not be written: \(error)\n")
        }
    }

    /// Tells the parent how many records never reached their files; nothing is written when none were lost.
    static func report(_ losses: RecordLosses, to files: Files) {
        guard losses.total > 0 else { return }
        do {
            try FileTree.writeAtomically(try RecordCoding.document(losses), to: files.losses)
        } catch {
            // The parent then sees the record counts fall short of the requests; say why on stderr (host.log).
            Terminal.write("highwater host: \(Finding.recordsLost(losses).text); and lost.json could not be written: \(error)\n")
        }
    }

    /// Writes the bound port where the parent waits for it, atomically (write, then rename).
    static func publish(port: Int, to path: String) throws {
        try FileTree.writeAtomically("\(port)\n", to: path)
    }
}
