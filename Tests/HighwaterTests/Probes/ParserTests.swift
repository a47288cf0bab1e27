import HighwaterProbes
import Testing
import Foundation

@Suite("Parsers of /proc files, fed truncated and garbled copies of real files")
struct ParserTests {
    static func real(_ path: String) throws -> [UInt8] {
        Array(try ProcFile.read(path).utf8)
    }

    static func parse<T>(_ bytes: [UInt8], _ parser: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
        try bytes.withUnsafeBufferPointer { try parser($0) }
    }

    @Test func statusRealAndBroken() throws {
        let bytes = try Self.real("/proc/self/status")
        let parsed = try Self.parse(bytes) { try ProcessStatus.parse($0) }
        #expect(parsed.vmRSS > 0 && parsed.threads >= 1)
        // Cut before the Threads line: the parser says what is missing.
        let text = String(decoding: bytes, as: UTF8.self)
        let cut = Array(text[..<text.range(of: "Threads:")!.lowerBound].utf8)
        #expect(throws: ProbeError.self) { _ = try Self.parse(cut) { try ProcessStatus.parse($0) } }
        let garbled = bytes.map { $0 == UInt8(ascii: ":") ? UInt8(ascii: "=") : $0 }
        #expect(throws: ProbeError.self) { _ = try Self.parse(garbled) { try ProcessStatus.parse($0) } }
        #expect(throws: ProbeError.self) { _ = try Self.parse([]) { try ProcessStatus.parse($0) } }
    }

    @Test func statRealAndBroken() throws {
        let bytes = try Self.real("/proc/self/stat")
        let parsed = try Self.parse(bytes) { try ProcessStat.parse($0) }
        #expect(parsed.numThreads >= 1)
        // Cuts before the fields we use (up to starttime, the 22nd) must fail; the kernel writes 52.
        let close = bytes.lastIndex(of: UInt8(ascii: ")"))!
        let spaces = bytes.indices.filter { $0 > close && bytes[$0] == UInt8(ascii: " ") }
        for length in [0, 5, close + 1, spaces[10], spaces[18]] {
            #expect(throws: ProbeError.self) { _ = try Self.parse(Array(bytes.prefix(length))) { try ProcessStat.parse($0) } }
        }
        // A command name with spaces and parentheses is skipped whole.
        let tricky = Array("123 (a (b) c) S 1 1 1 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 5 0 99 0 0".utf8)
        let t = try Self.parse(tricky) { try ProcessStat.parse($0) }
        #expect(t.numThreads == 5 && t.state == "S")
    }

    @Test func statmIoSmaps() throws {
        let statm = try Self.real("/proc/self/statm")
        #expect(try Self.parse(statm) { try ProcessStatm.parse($0) }.resident > 0)
        #expect(throws: ProbeError.self) { _ = try Self.parse(Array(statm.prefix(3))) { try ProcessStatm.parse($0) } }
        let io = try Self.real("/proc/self/io")
        _ = try Self.parse(io) { try ProcessIO.parse($0) }
        #expect(throws: ProbeError.self) { _ = try Self.parse(Array(io.prefix(io.count / 3))) { try ProcessIO.parse($0) } }
        let smaps = try Self.real("/proc/self/smaps_rollup")
        _ = try Self.parse(smaps) { try SmapsRollup.parse($0) }
        #expect(throws: ProbeError.self) { _ = try Self.parse(Array(smaps.prefix(40))) { try SmapsRollup.parse($0) } }
    }
}
