@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
import HighwaterUploads
import Testing
import HighwaterSystem

/// Uploads end to end: the built `highwater host` in its own mount namespace with a real tmpfs of a chosen size,
/// real HTTP on 127.0.0.1, and the harness's clean-up on success, failure, Ctrl-C and SIGKILL.
@Suite("Uploads hosted in child processes", .serialized,
       .enabled(if: PrivateTmpfsHere.possible,
                "needs a private tmpfs: root with CAP_SYS_ADMIN or user namespaces, and unshare (util-linux); skipped"))
struct UploadRunTests {

    static func plan(_ config: String, _ workload: String, file: UInt64, requests: Int = 1, tmpfs: UInt64 = 2 << 20,
                     options: [String: String] = [:]) -> RunPlan {
        RunPlan(scenario: "uploads", config: config, executor: .init(kind: "fixed", size: 2),
                workload: .init(name: workload, options: options),
                load: .init(requests: requests, payloadBytes: [file]),
                storage: .init(tmpfsBytes: tmpfs, spoolThreshold: MiB), warmup: 0, sampleIntervalNs: 5_000_000)
    }

    @Test("spooled uploads fail with 507 just past the tmpfs capacity; streamed ones pass every size")
    func boundaryOnATmpfs() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-uploads")
        defer { TestSupport.removeTree(out) }
        let sizes: [UInt64] = [3 * MiB / 2, 2 * MiB, 3 * MiB]
        let plans = ["upload-spooled", "upload-streamed"].flatMap { workload in
            sizes.map { Self.plan("\(workload)-\($0)", workload, file: $0) }
        }
        let session = RunSession(outDirectory: out, executable: TestSupport.highwater, showProgress: false, version: "test")
        let runs = try await session.run(plans)
        let byConfig = Dictionary(uniqueKeysWithValues: runs.map { ($0.config, $0) })

        for size in sizes {
            let spooled = try #require(byConfig["upload-spooled-\(size)"]?.workload)
            let streamed = try #require(byConfig["upload-streamed-\(size)"]?.workload)
            let fits = size <= 2 * MiB
            #expect(spooled[.uploadsPassed] == (fits ? 1 : 0), "spooled \(size)")
            #expect(spooled[.uploadsEnospc] == (fits ? 0 : 1), "spooled \(size)")
            #expect(spooled[.predictedLargestFile] == Double(2 * MiB))
            #expect(streamed[.uploadsPassed] == 1, "streamed \(size)")
            #expect(streamed[.bytesWrittenPerByte] == 1)
            if fits { #expect(spooled[.bytesWrittenPerByte] == 2) }
            #expect((spooled[.tmpUsedPeak] ?? 0) > 0 && (spooled[.tmpUsedPeak] ?? .infinity) <= Double(2 * MiB))
            #expect(streamed[.tmpUsedPeak] == 0)
        }
        // The refused upload: 507 recorded with ENOSPC and the temp dir named.
        let failed = try #require(byConfig["upload-spooled-\(3 * MiB)"])
        let records = RecordCoding.lines(RequestRecord.self, from: (try? FileTree.readBytes("\(out)/uploads/\(failed.run_id)/requests.jsonl")) ?? [])
        #expect(records.map(\.status) == [507])
        #expect(records.first?.error?.contains("ENOSPC") == true)
        #expect(records.first?.error?.contains("highwater-tmpfs-") == true)
        // The boundary in the fields and the sentence a record phase has: the hosted run that failed says where and how.
        let boundary = try #require(UploadBoundary(figures: failed.workload))
        #expect(boundary.smallestFailed == 3 * MiB && boundary.failedStatus == 507 && boundary.largestPassed == nil)
        #expect(failed.notes(.uploadBoundary) == ["uploads started failing at 3 MiB with status 507"], "\(failed.notes ?? [])")

        let stored = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(out + "/summary.json"))
        let spooledBoundary = try #require(stored.upload_boundaries?.first { $0.workload == "upload-spooled" })
        #expect(spooledBoundary.largest_passed == 2 * MiB)
        #expect(spooledBoundary.smallest_failed == 3 * MiB)
        #expect(spooledBoundary.agrees_with_prediction == true)
        let streamedBoundary = try #require(stored.upload_boundaries?.first { $0.workload == "upload-streamed" })
        #expect(streamedBoundary.smallest_failed == nil)

        #expect(Leftovers.plannedMountPoints(under: out).count == plans.count)
        #expect(Leftovers.mountPoints(under: out).isEmpty, "left behind: \(Leftovers.mountPoints(under: out))")
        #expect(await Leftovers.destinations(under: out).isEmpty)
    }

    @Test("bad uploads get a clear 4xx or 507, leave no file, and the next upload is served")
    func badInputAndFaults() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-upload-faults")
        defer { TestSupport.removeTree(out) }
        let storage = try RunStorage(plan: Self.plan("faults", "upload-spooled", file: MiB, options: ["max_body": "3 MiB"]),
                                     runDirectory: out)
        defer { storage.removeAll() }
        try FileTree.writeAtomically(try RecordCoding.document(storage.plan), to: out + "/plan.json")
        let host = try HostedChild(plan: storage.plan, planPath: out + "/plan.json", directory: out,
                                   executable: TestSupport.highwater, extraArguments: storage.hostArguments,
                                   commandPrefix: storage.commandPrefix)
        defer { TestSupport.end(host.process) }
        let port = try #require(await host.waitForPort(), "the host did not start: \(FileTree.tail(out + "/host.log", lines: 5) ?? "")")
        let tempDir = "/proc/\(host.process.pid)/root" + storage.plan.storage.tempDir!
        let destination = storage.plan.storage.destinationDir!
        let framing = MultipartFraming(fileName: "ok.bin")

        func served() {
            let ok = RawHTTP.upload(port: port, framing: framing, fileBytes: 100_000)
            #expect(ok?.status == 200, "the next upload: \(ok?.body ?? "no answer")")
        }
        func clean(_ label: String) {
            #expect((try? FilesystemProbe.usage(of: tempDir).used) == 0, "\(label): temp dir not empty")
            #expect(Leftovers.entries(tempDir).isEmpty, "\(label): \(Leftovers.entries(tempDir))")
            #expect(Leftovers.entries(destination).isEmpty, "\(label): \(Leftovers.entries(destination))")
        }
        served()
        clean("a good upload")

        let noBoundary = RawHTTP.exchange(port: port, contentType: "multipart/form-data", body: framing.head + [1, 2] + framing.tail)
        #expect(noBoundary?.status == 400 && noBoundary?.body.contains("boundary") == true, "\(noBoundary?.body ?? "")")
        served(); clean("no boundary")

        let truncated = RawHTTP.exchange(port: port, contentType: framing.requestContentType,
                                         body: framing.head + [UInt8](repeating: 97, count: 50_000))
        #expect(truncated?.status == 400, "\(truncated?.body ?? "")")
        served(); clean("a truncated part")

        let hostile = MultipartFraming(fileName: "../../etc/passwd")
        let refusedName = RawHTTP.upload(port: port, framing: hostile, fileBytes: 10)
        #expect(refusedName?.status == 400, "\(refusedName?.body ?? "")")
        served(); clean("a hostile file name")

        let tooLarge = RawHTTP.upload(port: port, framing: framing, fileBytes: Int(4 * MiB))
        #expect(tooLarge?.status == 413, "\(tooLarge?.body ?? "")")
        served(); clean("a body past max_body")

        let full = RawHTTP.upload(port: port, framing: framing, fileBytes: Int(5 * MiB / 2))
        #expect(full?.status == 507, "\(full?.body ?? "")")
        #expect(full?.body.contains("\"temp_dir\"") == true && full?.body.contains("\"capacity\":\(2 * MiB)") == true,
                "\(full?.body ?? "")")
        served(); clean("ENOSPC in the middle of the part")

        // A client that sends half its file (past the spool threshold, so the temp dir is in use) and goes away.
        RawHTTP.abandon(port: port, framing: framing, fileBytes: Int(2 * MiB), sendBytes: Int(3 * MiB / 2))
        // The host notices when it next reads; its record of the aborted upload says it has cleaned up.
        let aborted = await TestSupport.poll(seconds: 30) {
            RecordCoding.lines(RequestRecord.self, from: (try? FileTree.readBytes(out + "/requests.jsonl")) ?? []).first { $0.status == 499 }
        }
        #expect(aborted != nil, "the abandoned upload is recorded as 499")
        clean("a client that disconnected mid-upload")
        served()

        _ = await stopHost(host, port: port)
        storage.removeAll()
        #expect(access(storage.plan.storage.tempDir!, F_OK) != 0, "the mount point is left behind")
    }

    @Test("Ctrl-C during an upload: the run stops, and no temp file, tmpfs or child is left")
    func interruptDuringUpload() async throws {
        try await Self.interrupt { run, child in
            #expect(kill(run.pid, SIGINT) == 0)
            let ended = await run.exit(timeoutNs: 60_000_000_000)
            #expect(ended == .exited(3), "interrupted runs exit 3: \(String(describing: ended))")
            return ended
        }
    }

    @Test("SIGKILL of the child during an upload: the run reports it, and nothing is left")
    func childKilledDuringUpload() async throws {
        try await Self.interrupt { run, child in
            #expect(kill(child, SIGKILL) == 0)
            let ended = await run.exit(timeoutNs: 120_000_000_000)
            #expect(ended != nil)
            return ended
        }
    }

    /// Starts `highwater run` on an upload scenario, waits until its child has file bytes in its tmpfs (an upload
    /// is past the spool threshold), lets `act` interrupt it, then checks what is left.
    static func interrupt(_ act: (ChildProcess, pid_t) async -> Termination?) async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-upload-interrupt")
        defer { TestSupport.removeTree(dir) }
        let scenario = """
            name: interrupted
            executor: {kind: fixed, size: 2}
            workload: {name: upload-spooled, options: {encoding: raw}}
            storage: {tmpfs: 64 MiB, spool_threshold: 1 MiB}
            load: {requests: 400, concurrency: 1, payload: 48 MiB}
            """
        try FileTree.writeAtomically(scenario, to: dir + "/interrupted.yaml")
        let run = try ChildProcess([TestSupport.highwater, "run", "--out", dir + "/results", dir + "/interrupted.yaml"],
                                   stdout: .file(dir + "/out"), stderr: .file(dir + "/err"))
        defer { TestSupport.end(run) }

        var child: pid_t?
        let inUse = await TestSupport.poll(seconds: 60, every: 5, stopIf: { run.poll() != nil }) { () -> Bool? in
            child = child ?? Leftovers.hostChild(under: dir)
            guard let child, let runID = Leftovers.entries(dir + "/results/interrupted").first,
                  let plan = try? RecordCoding.decode(RunPlan.self, from: FileTree.readBytes("\(dir)/results/interrupted/\(runID)/plan.json")),
                  let temp = plan.storage.tempDir,
                  // Through the child's root, its own mount table: the tmpfs once mounted (64 MiB), the bare directory before.
                  let usage = try? FilesystemProbe.usage(of: "/proc/\(child)/root" + temp),
                  usage.capacity == 64 << 20 && usage.used > 0 else { return nil }
            return true
        }
        let pid = try #require(child, "no child appeared: \(FileTree.tail(dir + "/err", lines: 10) ?? "")")
        try #require(inUse == true, "the child's tmpfs never held upload bytes")
        // The tmpfs is the child's alone: the parent's mount table never shows it.
        #expect(!((try? ProcFile.read("/proc/self/mountinfo")) ?? "").contains("highwater-tmpfs-"))

        let ended = await act(run, pid)
        #expect(ended != nil, "the run did not end")
        var gone = false
        for _ in 0..<500 where !gone {
            gone = kill(pid, 0) != 0
            if !gone { await TestSupport.sleep(milliseconds: 10) }
        }
        #expect(gone, "the child \(pid) outlived the run")
        #expect(Leftovers.plannedMountPoints(under: dir + "/results").count == 1)
        #expect(Leftovers.mountPoints(under: dir + "/results").isEmpty, "left behind: \(Leftovers.mountPoints(under: dir + "/results"))")
        #expect(await Leftovers.destinations(under: dir + "/results").isEmpty)
        let summary = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(dir + "/results/summary.json"))
        #expect(summary.runs.count == 1, "the interrupted run is still reported")
    }
}

private let MiB: UInt64 = 1 << 20

/// Can a child mount a private tmpfs here? Checked once, by trying; the suite's `.enabled(if:)` skips on false.
enum PrivateTmpfsHere {
    static let possible = PrivateTmpfs.availability().possible
}

/// Shuts a hosted child down over HTTP and waits for it to end.
private func stopHost(_ host: HostedChild, port: Int) async -> Termination? {
    _ = RawHTTP.exchange(port: port, path: "/_highwater/shutdown", contentType: "text/plain", body: [])
    return await host.process.exit(timeoutNs: 10_000_000_000)
}

/// What Highwater might leave behind: temp-dir mount points, and destination directories in run folders.
enum Leftovers {
    /// The temp-dir mount points the plans of the runs under `results` named, one per run that had one.
    /// Only these: the suite runs beside other tests whose runs make mount points in the same /tmp.
    static func plannedMountPoints(under results: String) -> [String] {
        entries(results).flatMap { scenario in
            entries(results + "/" + scenario).compactMap { run in
                try? RecordCoding.decode(RunPlan.self, from: FileTree.readBytes("\(results)/\(scenario)/\(run)/plan.json")).storage.tempDir
            }
        }
    }

    /// Those of them still there.
    static func mountPoints(under results: String) -> [String] {
        plannedMountPoints(under: results).filter { access($0, F_OK) == 0 }
    }

    static func destinations(under directory: String) async -> [String] {
        let found = await TestSupport.run(["find", directory, "-name", "destination-*"]).stdout
        return found.split(separator: "\n").map(String.init)
    }

    /// Names in a directory, but `lost+found`; none when it cannot be read.
    static func entries(_ directory: String) -> [String] {
        UploadTestSupport.entries(directory).filter { $0 != "lost+found" && !$0.hasPrefix("<cannot open") }
    }

    /// The `highwater host` child serving a run under `directory`.
    static func hostChild(under directory: String) -> pid_t? {
        for pid in (try? ProcDirectory.numericEntries("/proc")) ?? [] {
            guard let raw = try? ProcFile.read("/proc/\(pid)/cmdline") else { continue }
            let args = raw.split(separator: "\0")
            if args.contains("host"), args.contains(where: { $0.hasPrefix(directory) }) { return pid }
        }
        return nil
    }
}

/// Where no private tmpfs can be made (here: `unshare` hidden from PATH), the run says why and what to do, and a
/// temp dir the user gives is taken instead.
@Suite("Uploads without a private tmpfs")
struct UploadWithoutTmpfsTests {
    @Test("a tmpfs that cannot be mounted stops the run with exit 3 and the fix; a given temp_dir is used instead")
    func refusedThenGivenDirectory() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-no-tmpfs")
        defer { TestSupport.removeTree(dir) }
        // A temp dir of its own, so the suites running beside it cannot put their mount points in the way.
        let temp = dir + "/tmp"
        try FileTree.createDirectory(temp)
        let noUnshare = ProcessEnvironment.current.merging(["PATH": "/nonexistent", "TMPDIR": temp]) { _, new in new }
        func scenario(storage: String) -> String {
            """
            name: no-tmpfs
            executor: {kind: fixed, size: 2}
            workload: {name: upload-spooled, options: {encoding: raw}}
            storage: \(storage)
            load: {requests: 2, payload: 2 MiB}
            """
        }
        try FileTree.writeAtomically(scenario(storage: "{tmpfs: 8 MiB}"), to: dir + "/tmpfs.yaml")
        let refused = await TestSupport.run([TestSupport.highwater, "run", "--out", dir + "/refused", dir + "/tmpfs.yaml"], environment: noUnshare)
        #expect(refused.termination == .exited(3), "\(refused.termination): \(refused.stderr)")
        #expect(refused.stderr.contains("unshare") && refused.stderr.contains("storage.temp_dir"), "\(refused.stderr)")
        let summary = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(dir + "/refused/summary.json"))
        #expect(summary.runs.first?.run_error?.contains("unshare") == true)

        let given = dir + "/my-temp"
        try FileTree.createDirectory(given)
        try FileTree.writeAtomically(scenario(storage: "{temp_dir: \(given)}"), to: dir + "/given.yaml")
        let ran = await TestSupport.run([TestSupport.highwater, "run", "--out", dir + "/given", dir + "/given.yaml"], environment: noUnshare)
        #expect(ran.termination == .exited(0), "\(ran.termination): \(ran.stderr)")
        let figures = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(dir + "/given/summary.json")).runs.first?.workload
        #expect(figures?[.uploadsPassed] == 2)
        #expect(figures?[.bytesWrittenPerByte] == 2, "spooled past the 1 MiB threshold into the given directory")
        #expect(Leftovers.entries(given).isEmpty, "the spool files are gone: \(Leftovers.entries(given))")
        #expect(Leftovers.entries(temp).isEmpty, "left in the temp dir: \(Leftovers.entries(temp))")
    }
}
