@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing
import HighwaterHost

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

    @Test("names are demangled by the runtimes that made them: Swift's by swift_demangle, C++'s by __cxa_demangle; others kept")
    func demangling() {
        #expect(StackCapture.demangle("_ZN5leaky4keepEm") == "leaky::keep(unsigned long)")
        #expect(StackCapture.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi") == "std::vector<int, std::allocator<int> >::push_back(int const&)")
        #expect(StackCapture.demangle("$sSS5countSivg") == "Swift.String.count.getter : Swift.Int")
        #expect(StackCapture.demangle("_Znot a name") == "_Znot a name")
        #expect(StackCapture.demangle("malloc") == "malloc")
    }

    @Test("a site is the program's code that allocated: past malloc and past Swift's runtime and standard library")
    func siteNames() {
        // Outermost first, as the profile keeps them.
        let swift = ["main", "SwiftServer.LeakyCache.keep(Swift.Int) -> ()", "Swift._ContiguousArrayBuffer.init(_uninitializedCount: Swift.Int) -> ()",
                     "swift_allocObject", "swift_slowAlloc", "malloc"]
        #expect(AllocationProfile.site(swift) == "SwiftServer.LeakyCache.keep(Swift.Int) -> ()")
        #expect(AllocationProfile.site(["main", "work", "hw_leak", "malloc"]) == "hw_leak")
        // A module named like the runtime's functions is still the program's (the Swift server example's: a real stack).
        let example = ["swift::runJobInEstablishedExecutorContext(swift::Job*)", "(13) suspend resume partial function for swift_server.Routes.respond",
                       "swift_server.LeakyCache.keep(Swift.Int) -> Swift.Int", "Swift._ContiguousArrayBuffer.init(_uninitializedCount: Swift.Int, minimumCapacity: Swift.Int) -> Swift._ContiguousArrayBuffer<A>",
                       "swift_allocObject", "swift_slowAlloc"]
        #expect(AllocationProfile.site(example) == "swift_server.LeakyCache.keep(Swift.Int) -> Swift.Int")
        // All runtime: its innermost frame past the allocator.
        #expect(AllocationProfile.site(["swift_once", "swift_allocObject", "malloc"]) == "swift_once")
        #expect(AllocationProfile.site([]) == "?")
    }

    @Test("a stack is written once and named by the allocations made from it; one with no room in the table comes inline")
    func stacksByID() throws {
        var bytes = [UInt8]("HWEVENT2".utf8) + [UInt8](repeating: 0, count: 16)  // interval 0: every allocation
        func word32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func word64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func record(kind: UInt32, above: UInt32, tid: Int32 = 9, ptr: UInt64, size: UInt64 = 0, t: UInt64 = 0, stack: [UInt64] = []) {
            word32(kind | above << 8); word32(UInt32(bitPattern: tid)); word64(ptr); word64(size); word64(t)
            stack.forEach(word64)
        }
        record(kind: 3, above: 2, ptr: 7, stack: [0x10, 0x20])           // stack 7
        record(kind: 4, above: 7, ptr: 0x1000, size: 64, t: 1_000_000)  // two allocations from it
        record(kind: 4, above: 7, ptr: 0x2000, size: 32, t: 2_000_000)
        record(kind: 1, above: 1, ptr: 0x3000, size: 16, t: 3_000_000, stack: [0x30])
        record(kind: 2, above: 0, ptr: 0x1000, size: 64, t: 4_000_000)
        let events = try bytes.withUnsafeBytes { try AllocationEvents(bytes: $0, path: "test") }
        #expect(events.samples.map(\.stack) == [[0x10, 0x20], [0x10, 0x20], [0x30]])
        #expect(events.samples.map(\.freed) == [true, false, false])
        #expect(events.samples.map(\.size) == [64, 32, 16] && events.samples.allSatisfy { $0.tid == 9 })
        #expect(events.peakLiveBytes == 112 && events.liveTimeline.last?.bytes == 48)
    }

    @Test("a sample stands for 1/p blocks, p = 1 - e^(-size/interval); every-allocation samples stand for one")
    func weights() throws {
        var header = [UInt8]("HWEVENT2".utf8) + [UInt8](repeating: 0, count: 16)
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
