/// Builds one JSON object per line by hand: the sampler and the per-request path write these,
/// and a general encoder would allocate and reflect on every record.
package struct JSONLine {
    package private(set) var bytes: [UInt8] = []
    private var first = true

    package init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Starts over, keeping the storage.
    package mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(UInt8(ascii: "{"))
        first = true
    }

    private mutating func key(_ name: StaticString) {
        key(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }

    /// `key` already quoted and followed by its colon.
    private mutating func quotedKey(_ key: UnsafeBufferPointer<UInt8>) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(contentsOf: key)
    }

    private mutating func key(_ name: UnsafeBufferPointer<UInt8>) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    package mutating func field(_ name: StaticString, _ value: UInt64) {
        key(name)
        appendDigits(value)
    }

    package mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        appendSigned(value)
    }

    package mutating func field(_ name: StaticString, _ value: Int) { field(name, Int64(value)) }

    package mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    package mutating func field(_ name: StaticString, _ value: UInt64?) {
        if let value { field(name, value) }
    }

    package mutating func field(_ name: StaticString, _ value: Int64?) {
        if let value { field(name, value) }
    }

    package mutating func field(_ name: StaticString, _ value: String?) {
        key(name)
        appendString(value)
    }

    /// A field's value as a record's field table gives it to the writer.
    package enum Value: Equatable, Sendable {
        /// nil leaves the field off the line.
        case unsigned(UInt64?)
        /// nil leaves the field off the line.
        case signed(Int64?)
        /// nil is written as `null`.
        case string(String?)
    }

    /// A field table as the writer walks it: its fields in order and each one's `"name":`, made once per table, so
    /// a line neither builds `allCases` (an array per call) nor spells a key.
    package struct Keys<Field: JSONLineField>: Sendable {
        fileprivate let fields = Array(Field.allCases)
        fileprivate var bytes: [UInt8] = []
        /// Where field `k`'s key starts: `starts[k]..<starts[k + 1]`.
        fileprivate var starts: [Int] = [0]

        package init() {
            for field in fields {
                bytes.append(UInt8(ascii: "\""))
                bytes.append(contentsOf: field.stringValue.utf8)
                bytes.append(contentsOf: "\":".utf8)
                starts.append(bytes.count)
            }
        }
    }

    /// Writes `record` as the whole line, its fields in table order.
    mutating func write<Record: JSONLineRecord>(_ record: Record) {
        reset()
        let keys = Record.keys
        keys.bytes.withUnsafeBufferPointer { names in
            keys.starts.withUnsafeBufferPointer { starts in
                for (position, field) in keys.fields.enumerated() {
                    // Only for a field on the line: most of a request's optional fields are absent.
                    func key() { quotedKey(UnsafeBufferPointer(rebasing: names[starts[position]..<starts[position + 1]])) }
                    switch record[field] {
                    case .unsigned(let value?): key(); appendDigits(value)
                    case .signed(let value?): key(); appendSigned(value)
                    case .string(let value): key(); appendString(value)
                    case .unsigned(nil), .signed(nil): break
                    }
                }
            }
        }
        finish()
    }

    /// Closes the object and ends the line.
    package mutating func finish() {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Appends `value` as a quoted JSON string, escaping quotes, backslashes and control bytes.
    package static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: "\\t".utf8)
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(hex[Int(b >> 4)]); bytes.append(hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendSigned(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude)
    }

    private mutating func appendString(_ value: String?) {
        guard let value else { bytes.append(contentsOf: "null".utf8); return }
        JSONLine.appendQuoted(value, to: &bytes)
    }

    private mutating func appendDigits(_ value: UInt64) {
        // Spelled backwards into a buffer on the stack, then appended at once: appending digit by digit checked the
        // array's uniqueness per byte, the largest cost of a line.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = value
            var first = digits.count
            repeat {
                first -= 1
                digits[first] = UInt8(truncatingIfNeeded: 48 + v % 10)
                v /= 10
            } while v > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[first...]))
        }
    }
}
