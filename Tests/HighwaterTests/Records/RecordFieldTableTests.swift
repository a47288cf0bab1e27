import FoundationEssentials
import HighwaterRecords
@testable import HighwaterReports
import Testing

/// The hot records' field tables against every side that writes or reads them: a record the writer wrote reads back
/// field by field through the loader's key table and through JSONDecoder, for every field of the table, and the table
/// is exactly the record's stored properties. A field added on one side and not the other fails here.
@Suite("The field tables of samples.jsonl and requests.jsonl")
struct RecordFieldTableTests {
    /// A request with a value of its own in every field (a string that needs escaping, a negative delta).
    static var everyRequestField: RequestRecord {
        var r = RequestRecord(i: 7, config: "eager-40", route: "/upload", tid: 4321, worker: "hw-pool-3", start_ns: 1_000_000_001,
                              end_ns: 1_000_500_002, status: 201, rss_before: 104_857_604, rss_after: 104_861_705,
                              heap_in_use_before: 5_000_006, heap_in_use_after: 5_004_107, error: "disk \"full\"\n")
        r.t_unix_ns = 1_765_000_000_000_000_003
        r.payload_bytes = 1_048_508; r.bytes_received = 1_048_609; r.bytes_to_temp_dir = 524_210
        r.bytes_to_destination = 1_048_511; r.threshold_crossed = 1; r.receive_ns = 2_000_012; r.copy_ns = 3_000_013
        r.heap_allocs = 14; r.heap_alloc_bytes = 4_115; r.heap_freed_bytes = 8_216; r.heap_live_delta = -4_101
        r.request_bytes = 1_048_618; r.response_bytes = 19
        return r
    }

    /// A sample with a value of its own in every field.
    static var everySampleField: SampleRecord {
        var s = SampleRecord(t_ns: 2_000_000_001, pid: 4243, rss: 104_857_603, rss_anon: 90_000_004, rss_file: 14_000_005,
                             rss_shmem: 6, vm_size: 900_000_007, vm_hwm: 110_000_008, threads: 41, fds: 17, utime_ns: 12_000_011,
                             stime_ns: 3_000_012, heap_in_use: 5_000_013, heap_free: 100_014, heap_system: 6_000_015, arenas: 9,
                             tmp_used: 4_096_016)
        s.t_unix_ns = 1_765_000_000_000_000_002
        s.processes = 3; s.heap_processes = 2; s.arena_heaps = 8; s.arena_heap_resident = 33_554_420
        s.main_heap_resident = 1_048_621
        return s
    }

    @Test("a request written by the writer reads back field by field in the loader's scanner and in JSONDecoder")
    func requestRoundTrip() throws {
        let record = Self.everyRequestField
        var line = JSONLine()
        record.write(to: &line)
        try Self.roundTrip(record, line: line.bytes, keys: ResultsLoader.requestKeys)
        let columns = line.bytes.withUnsafeBufferPointer { ResultsLoader.requests(inJSONLines: $0) }
        try #require(columns.count == 1 && columns.skippedLines == 0)
        #expect(columns.index == [record.i] && columns.tid == [record.tid] && columns.status == [Int32(record.status)])
        #expect(columns.startNs == [record.start_ns] && columns.endNs == [record.end_ns])
        #expect(columns.rssBefore == [record.rss_before] && columns.rssAfter == [record.rss_after])
        #expect(columns.heapBefore == [record.heap_in_use_before] && columns.heapAfter == [record.heap_in_use_after])
        #expect(columns.errors == [0: record.error!])
    }

    @Test("a sample written by the writer reads back field by field in the loader's scanner and in JSONDecoder")
    func sampleRoundTrip() throws {
        let record = Self.everySampleField
        var line = JSONLine()
        record.write(to: &line)
        try Self.roundTrip(record, line: line.bytes, keys: ResultsLoader.sampleKeys)
        let columns = line.bytes.withUnsafeBufferPointer { ResultsLoader.samples(inJSONLines: $0) }
        try #require(columns.count == 1 && columns.skippedLines == 0)
        #expect(columns.tNs == [record.t_ns] && columns.rss == [record.rss] && columns.rssAnon == [record.rss_anon])
        #expect(columns.rssFile == [record.rss_file] && columns.rssShmem == [record.rss_shmem])
        #expect(columns.threads == [record.threads] && columns.fds == [record.fds])
        #expect(columns.heapInUse == [record.heap_in_use!] && columns.arenas == [record.arenas!] && columns.tmpUsed == [record.tmp_used!])
    }

    @Test("the lines on disk keep their names and order: results written before the tables load as before")
    func linesOnDisk() {
        var line = JSONLine()
        Self.everyRequestField.write(to: &line)
        #expect(String(decoding: line.bytes, as: UTF8.self) == #"""
            {"i":7,"config":"eager-40","route":"/upload","tid":4321,"worker":"hw-pool-3","start_ns":1000000001,"end_ns":1000500002,"t_unix_ns":1765000000000000003,"status":201,"rss_before":104857604,"rss_after":104861705,"heap_in_use_before":5000006,"heap_in_use_after":5004107,"error":"disk \"full\"\n","payload_bytes":1048508,"bytes_received":1048609,"bytes_to_temp_dir":524210,"bytes_to_destination":1048511,"threshold_crossed":1,"receive_ns":2000012,"copy_ns":3000013,"heap_allocs":14,"heap_alloc_bytes":4115,"heap_freed_bytes":8216,"heap_live_delta":-4101,"request_bytes":1048618,"response_bytes":19}

            """#)
        Self.everySampleField.write(to: &line)
        #expect(String(decoding: line.bytes, as: UTF8.self) == #"""
            {"t_ns":2000000001,"t_unix_ns":1765000000000000002,"pid":4243,"rss":104857603,"rss_anon":90000004,"rss_file":14000005,"rss_shmem":6,"vm_size":900000007,"vm_hwm":110000008,"threads":41,"fds":17,"utime_ns":12000011,"stime_ns":3000012,"heap_in_use":5000013,"heap_free":100014,"heap_system":6000015,"arenas":9,"tmp_used":4096016,"processes":3,"heap_processes":2,"arena_heaps":8,"arena_heap_resident":33554420,"main_heap_resident":1048621}

            """#)
    }

    @Test("absent fields: numbers are left off the line, a missing error is null, and both read back as absent")
    func absentFields() throws {
        let request = RequestRecord(i: 0, config: "c", route: "/", tid: 1, worker: "w", start_ns: 2, end_ns: 3, status: 200,
                                    rss_before: 4, rss_after: 5, heap_in_use_before: 6, heap_in_use_after: 7)
        var line = JSONLine()
        request.write(to: &line)
        #expect(String(decoding: line.bytes, as: UTF8.self)
            == #"{"i":0,"config":"c","route":"/","tid":1,"worker":"w","start_ns":2,"end_ns":3,"status":200,"rss_before":4,"rss_after":5,"heap_in_use_before":6,"heap_in_use_after":7,"error":null}"# + "\n")
        #expect(try JSONDecoder().decode(RequestRecord.self, from: Data(line.bytes)) == request)
        #expect(line.bytes.withUnsafeBufferPointer { ResultsLoader.requests(inJSONLines: $0) }.errors.isEmpty)

        let sample = SampleRecord(t_ns: 1, pid: 2, rss: 3, rss_anon: 4, rss_file: 5, rss_shmem: 6, vm_size: 7, vm_hwm: 8,
                                  threads: 9, fds: 10, utime_ns: 11, stime_ns: 12)
        sample.write(to: &line)
        #expect(try JSONDecoder().decode(SampleRecord.self, from: Data(line.bytes)) == sample)
        let columns = line.bytes.withUnsafeBufferPointer { ResultsLoader.samples(inJSONLines: $0) }
        #expect(columns.count == 1 && columns.heapInUse == nil && columns.arenas == nil && columns.tmpUsed == nil)
    }

    @Test("numbers at the ends of their range are spelled in full and read back: 0, UInt64.max, Int64.min")
    func numbersAtTheEnds() throws {
        var request = RequestRecord(i: .min, config: "", route: "", tid: .min, worker: "", start_ns: 0, end_ns: .max, status: 0,
                                    rss_before: 9, rss_after: 10, heap_in_use_before: 99, heap_in_use_after: 100)
        request.heap_live_delta = .min
        var line = JSONLine()
        request.write(to: &line)
        let text = String(decoding: line.bytes, as: UTF8.self)
        #expect(text.contains(#""i":-9223372036854775808,"#) && text.contains(#""start_ns":0,"end_ns":18446744073709551615,"#))
        #expect(text.contains(#""tid":-2147483648,"#) && text.contains(#""heap_live_delta":-9223372036854775808}"#))
        #expect(try JSONDecoder().decode(RequestRecord.self, from: Data(line.bytes)) == request)
        let columns = line.bytes.withUnsafeBufferPointer { ResultsLoader.requests(inJSONLines: $0) }
        #expect(columns.index == [.min] && columns.startNs == [0] && columns.endNs == [.max] && columns.rssAfter == [10])
    }

    @Test("the loader finds a key wherever it stands: a line written in another order loads the same columns")
    func keysInAnyOrder() throws {
        let record = Self.everyRequestField
        var line = JSONLine()
        record.write(to: &line)
        // The same fields, last first, spelled from the table.
        var reversed = Array("{".utf8)
        for field in RequestRecord.Field.allCases.reversed() {
            if reversed.count > 1 { reversed.append(UInt8(ascii: ",")) }
            reversed += Array("\"\(field.stringValue)\":".utf8)
            switch record[field] {
            case .unsigned(let v): reversed += Array("\(v!)".utf8)
            case .signed(let v): reversed += Array("\(v!)".utf8)
            case .string(let v): JSONLine.appendQuoted(v!, to: &reversed)
            }
        }
        reversed += Array("}\n".utf8)
        let columns = reversed.withUnsafeBufferPointer { ResultsLoader.requests(inJSONLines: $0) }
        let inOrder = line.bytes.withUnsafeBufferPointer { ResultsLoader.requests(inJSONLines: $0) }
        try #require(columns.count == 1 && columns.skippedLines == 0)
        #expect(columns.index == inOrder.index && columns.tid == inOrder.tid && columns.status == inOrder.status)
        #expect(columns.startNs == inOrder.startNs && columns.endNs == inOrder.endNs && columns.errors == inOrder.errors)
        #expect(columns.rssBefore == inOrder.rssBefore && columns.rssAfter == inOrder.rssAfter)
        #expect(columns.heapBefore == inOrder.heapBefore && columns.heapAfter == inOrder.heapAfter)
        #expect(try JSONDecoder().decode(RequestRecord.self, from: Data(reversed)) == record)
    }

    /// Checks `line`, written from `record`, against the table: every field carries a value of its own; the loader's
    /// key table finds each with that value; JSONDecoder gives back the record; the table is the stored properties.
    static func roundTrip<Record: JSONLineRecord & Decodable & Equatable>(
        _ record: Record, line: [UInt8], keys: JSONLineScanner.KeyTable<Record.Field>
    ) throws {
        let fields = Array(Record.Field.allCases)
        let properties = Mirror(reflecting: record).children.compactMap(\.label)
        #expect(fields.map(\.stringValue) == properties, "the field table and the stored properties of \(Record.self) differ")
        for field in fields {
            switch record[field] {
            case .unsigned(nil), .signed(nil), .string(nil):
                Issue.record("the test's \(Record.self) leaves \(field.stringValue) empty: give it a value so its round trip is checked")
            default: break
            }
        }
        #expect(Set(fields.map { "\(record[$0])" }).count == fields.count, "two fields share a value: a swap would pass unseen")

        var read: [Record.Field: JSONLine.Value] = [:]
        let whole = line.withUnsafeBufferPointer { bytes in
            JSONLineScanner.scan(bytes.baseAddress!, from: 0, to: bytes.count - 1, keys: keys) { field, value in
                read[field] = switch record[field] {
                case .unsigned: .unsigned(value.uint64)
                case .signed: .signed(value.int64)
                case .string: .string(value.string)
                }
            }
        }
        #expect(whole, "the loader's scanner does not read the writer's line as one flat object")
        let decoded = try JSONDecoder().decode(Record.self, from: Data(line))
        #expect(decoded == record)
        for field in fields {
            #expect(read[field] == record[field], "the loader reads \(field.stringValue) as \(String(describing: read[field]))")
            #expect(decoded[field] == record[field], "JSONDecoder reads \(field.stringValue) as \(decoded[field])")
        }
    }
}
