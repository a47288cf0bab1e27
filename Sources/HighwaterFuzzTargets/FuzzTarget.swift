@preconcurrency import Glibc
import HighwaterProbes
import HighwaterReports
import HighwaterScenarios
import HighwaterSystem
import HighwaterUploads
import NIOCore

/// One parser of untrusted input, driven with arbitrary bytes: by libFuzzer in `highwater-fuzz`, and by the
/// test suite over the committed seeds and the inputs that once crashed it (`fuzz/<name>/`).
/// A target must return for every input: any trap, hang or unbounded allocation is a bug in the parser.
package struct FuzzTarget: Sendable {
    package var name: String
    package var summary: String
    package var run: @Sendable (UnsafeBufferPointer<UInt8>) -> Void

    package static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    package static let all: [FuzzTarget] = [
        .init(name: "scenario", summary: "ScenarioLoader over a scenario file's text") { bytes in
            _ = try? ScenarioLoader(cores: 2).load(text: text(bytes), file: "fuzz.yaml")
        },
        .init(name: "limits", summary: "ServiceLimits.load and LimitsCheck.evaluate over a limits file") { bytes in
            guard let limits = try? ServiceLimits.load(text: text(bytes), file: "fuzz-limits.yaml"), limits.measured == nil else { return }
            let readings = MachineReadings(cgroupMemoryMax: 1 << 32) { _ in (capacity: 1 << 30, isTmpfs: true) }
            _ = try? LimitsCheck.evaluate(limits, readings: readings)
        },
        .init(name: "proc-status", summary: "/proc/PID/status") { bytes in _ = try? ProcessStatus.parse(bytes) },
        .init(name: "proc-stat", summary: "/proc/PID/stat") { bytes in _ = try? ProcessStat.parse(bytes) },
        .init(name: "proc-statm", summary: "/proc/PID/statm") { bytes in _ = try? ProcessStatm.parse(bytes) },
        .init(name: "proc-io", summary: "/proc/PID/io") { bytes in _ = try? ProcessIO.parse(bytes) },
        .init(name: "proc-smaps-rollup", summary: "/proc/PID/smaps_rollup") { bytes in _ = try? SmapsRollup.parse(bytes) },
        .init(name: "proc-smaps", summary: "/proc/PID/smaps, the arena census") { bytes in _ = ArenaCensus.parse(bytes) },
        .init(name: "proc-environ", summary: "/proc/PID/environ and the arena limit it sets") { bytes in
            _ = RuntimeEnvironment.read(environment: ProcessEnviron.parse(bytes))["glibc_arena_max"]
        },
        .init(name: "mountinfo", summary: "/proc/self/mountinfo, the mount holding a path") { bytes in
            _ = try? FilesystemProbe.mountEntry(containing: "/tmp/highwater-fuzz/a b", mountinfo: text(bytes))
        },
        .init(name: "malloc-info", summary: "glibc malloc_info XML") { bytes in _ = try? AllocatorProbe.parseMallocInfo(text(bytes)) },
        .init(name: "multipart", summary: "UploadReceiver: first line the Content-Type, one byte the chunk size, then the body") { bytes in
            UploadFuzzing.receive(bytes)
        },
        .init(name: "elf", summary: "ELFSymbols: an ELF file's headers, symbol tables and names, as --agent and the symbolizer read them") { bytes in
            // Offsets to name: the start, the middle and the last byte, plus one the input picks (its bytes 24..<32, e_entry).
            let picked = bytes.count >= 32 ? UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: 24, as: UInt64.self) : 0
            _ = ELFSymbols.parse(UnsafeRawBufferPointer(bytes), naming: [0, UInt64(bytes.count / 2), UInt64(max(bytes.count, 1) - 1), picked])
        },
        .init(name: "jsonl-requests", summary: "requests.jsonl as the report reads it; first byte the chunk size") { bytes in
            guard let first = bytes.first else { return }
            _ = ResultsLoader.requests(inJSONLines: UnsafeBufferPointer(rebasing: bytes.dropFirst()), chunkSize: Int(first) + 1)
        },
        .init(name: "jsonl-samples", summary: "samples.jsonl as the report reads it; first byte the chunk size") { bytes in
            guard let first = bytes.first else { return }
            _ = ResultsLoader.samples(inJSONLines: UnsafeBufferPointer(rebasing: bytes.dropFirst()), chunkSize: Int(first) + 1)
        },
    ]

    static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Removes the multipart target's scratch directory (and any a killed fuzzer left); the test suite and the
    /// fuzzer call it when done, so neither leaves /dev/shm/highwater-fuzz-* behind.
    package static func removeScratch() {
        (UploadFuzzing.scratch(own: true) + UploadFuzzing.scratch(own: false)).forEach(FileTree.removeTree)
    }
}

/// The multipart target's set-up: one destination and temp dir per process, small limits so no input fills a disk.
enum UploadFuzzing {
    static let base = Syscall.canAccess("/dev/shm", W_OK) ? "/dev/shm" : "/tmp"
    /// Named after this process, so a later one can tell a directory whose fuzzer was killed from a live one's.
    static let directory: String = {
        sweepStale()
        var template = Array("\(base)/highwater-fuzz-\(getpid())-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("cannot make a directory in \(base)") }
        atexit { FuzzTarget.removeScratch() }
        return String(cString: made)
    }()

    /// The scratch directories of this process (`own`) or of processes that have ended.
    static func scratch(own: Bool) -> [String] {
        let names = (try? Syscall.directoryNames(base)) ?? []
        return names.compactMap { name -> String? in
            guard name.hasPrefix("highwater-fuzz-"), let pid = Int32(name.dropFirst(15).prefix { $0 != "-" }) else { return nil }
            let alive = Syscall.processExists(pid)
            return (own ? pid == getpid() : !alive) ? base + "/" + name : nil
        }
    }

    static func sweepStale() { scratch(own: false).forEach(FileTree.removeTree) }

    static func receive(_ bytes: UnsafeBufferPointer<UInt8>) {
        let newline = bytes.firstIndex(of: 10) ?? bytes.count
        let contentType = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<newline]), as: UTF8.self)
        guard newline + 1 < bytes.count else { return }
        let control = bytes[newline + 1]
        let body = UnsafeBufferPointer(rebasing: bytes[(newline + 2)...])
        let mode: UploadMode = control & 0x80 != 0 ? .spooled(threshold: 64, tempDir: directory) : .streamed
        let chunk = Int(control & 0x7F) + 1
        let limits = UploadLimits(maxFileBytes: 1 << 20, maxBodyBytes: 2 << 20, maxFieldBytes: 4096, maxParts: 16)
        guard let receiver = try? UploadReceiver(contentType: contentType, mode: mode, destinationDirectory: directory, limits: limits,
                                                 fileName: control & 0x40 != 0 ? "raw.bin" : nil, expectedLength: UInt64(body.count)) else { return }
        var offset = 0
        let allocator = ByteBufferAllocator()
        while offset < body.count {
            let n = min(chunk, body.count - offset)
            var buffer = allocator.buffer(capacity: n)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(body)[offset..<(offset + n)]))
            do { try receiver.receive(buffer) } catch { return }
            offset += n
        }
        if let result = try? receiver.finish() { Syscall.unlinkIfPresent(result.destinationPath) }
    }
}
