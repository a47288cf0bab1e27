@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing

/// The pieces of the allocation outputs on their own: the request fields' round trip, the symbolizer on this
/// process's own map, the sampling weight, and the gzip framing checked by the real gzip.
@Suite("Allocation records, symbols and encodings")
struct AllocationRecordTests {
    @Test("the heap fields round-trip through requests.jsonl, a negative live delta included")
    func heapFieldsRoundTrip() throws {
        var r = RequestRecord(i: 1, config: "c", route: "/work", tid: 5, worker: "w", start_ns: 1, end_ns: 2, status: 200,
                              rss_before: 0, rss_after: 0, heap_in_use_before: 0, heap_in_use_after: 0)
        r.heap_allocs = 3
        r.heap_alloc_bytes = 100
        r.heap_freed_bytes = 4196
        r.heap_live_delta = -4096
        var line = JSONLine()
        r.write(to: &line)
        #expect(String(decoding: line.bytes, as: UTF8.self).contains("\"heap_live_delta\":-4096"))
        let back = RecordCoding.lines(RequestRecord.self, from: line.bytes)
        #expect(back == [r])
    }

    @Test("an address of this process is named from its map and the ELF symbol table of libc")
    func symbolizesOwnAddress() throws {
        let maps = ProcessMaps(text: try FileTree.readText("/proc/self/maps"))
        let symbol: UnsafeMutableRawPointer? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getpid")
        let address = UInt64(UInt(bitPattern: symbol))
        try #require(address != 0, "dlsym found no getpid")
        // A return address one past the function's first byte names the function.
        let frame = Symbolizer(maps: maps).frame(address + 1)
        #expect(frame.name.contains("getpid"), "\(frame)")
        #expect(frame.module.contains("libc.so"), "\(frame)")
        #expect(Symbolizer(maps: maps).frame(16).name == "0x10", "an address no file maps stays an address")
    }

    @Test("a sample stands for 1/p blocks, p = 1 - e^(-size/interval); every-allocation samples stand for one")
    func weights() throws {
        var header = [UInt8]("HWEVENT1".utf8) + [UInt8](repeating: 0, count: 16)
        header[8] = 0; header[9] = 0; header[10] = 8  // interval 512 KiB, little-endian
        let sampled = try header.withUnsafeBytes { try AllocationEvents(bytes: $0, path: "test") }
        #expect(sampled.interval == 512 << 10)
        let w = sampled.weight(size: 512 << 10)
        #expect(abs(w.count - 1 / (1 - exp(-1.0))) < 1e-9)
        #expect(abs(w.bytes - Double(512 << 10) * w.count) < 1e-6)
        header[10] = 0
        let every = try header.withUnsafeBytes { try AllocationEvents(bytes: $0, path: "test") }
        #expect(every.weight(size: 100) == (1, 100))
        #expect(throws: AllocationEvents.ReadError.self) {
            try [UInt8]("not events".utf8).withUnsafeBytes { try AllocationEvents(bytes: $0, path: "x") }
        }
    }

    @Test("profile.pb.gz is gzip that gzip itself verifies and opens to the protobuf written",
          .enabled(if: TestSupport.which("gzip") != nil, "gzip is absent"))
    func gzipFraming() async throws {
        let profile = AllocationProfile(stacks: [.init(frames: ["main", "leaky"], allocCount: 3, allocBytes: 300,
                                                       retainedCount: 2, retainedBytes: 200, samples: 3)], interval: 0)
        let raw = PprofProfile.encode(profile)
        let dir = TestSupport.makeTemporaryDirectory("hw-gzip")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(PprofProfile.gzipped(profile), to: dir + "/p.pb.gz")
        let t = await TestSupport.run(["gzip", "-t", dir + "/p.pb.gz"])
        #expect(t.termination == .exited(0), "\(t.stderr)")
        _ = await TestSupport.run(["gzip", "-d", dir + "/p.pb.gz"])
        #expect(try FileTree.readBytes(dir + "/p.pb") == raw)
        // The string table holds the names and the four sample types.
        let text = String(decoding: raw, as: UTF8.self)
        for name in ["leaky", "main", "alloc_objects", "alloc_space", "inuse_objects", "inuse_space"] {
            #expect(text.contains(name))
        }
    }
}
