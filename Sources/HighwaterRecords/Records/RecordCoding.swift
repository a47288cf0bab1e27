import FoundationEssentials

/// The one place JSON documents and JSON Lines are encoded and decoded, so every file Highwater writes
/// reads back with the same rules. The hot paths (a sample, a request) build their lines with
/// `JSONLine` instead; a test round-trips those through `decode` for every record type.
package enum RecordCoding {
    /// A document as Highwater writes it (`summary.json`, `plan.json`): sorted keys, indented, for diffs.
    package static func document<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(value))
    }

    /// A record as one line of a JSON Lines file (sorted keys, no newline), for files written once at the end.
    package static func line<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    package static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(bytes))
    }

    /// One record per line; a line that does not decode (the torn last line of an interrupted run) is skipped.
    package static func lines<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> [T] {
        let decoder = JSONDecoder()
        var records: [T] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            if let record = try? decoder.decode(T.self, from: Data(line)) { records.append(record) }
        }
        return records
    }
}
