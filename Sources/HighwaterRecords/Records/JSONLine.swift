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
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    package mutating func field(_ name: StaticString, _ value: UInt64) {
        key(name)
        appendDigits(value)
    }

    package mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude)
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
        guard let value else { bytes.append(contentsOf: "null".utf8); return }
        JSONLine.appendQuoted(value, to: &bytes)
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

    private mutating func appendDigits(_ value: UInt64) {
        if value == 0 { bytes.append(UInt8(ascii: "0")); return }
        var v = value
        let start = bytes.count
        while v > 0 {
            bytes.append(UInt8(48 + v % 10))
            v /= 10
        }
        // Swapped in place: reversing the slice `bytes[start...]` copied it into a new array on every number
        // (perf showed an allocation and a free per field on the sampler's thread).
        var i = start, j = bytes.count - 1
        while i < j {
            bytes.swapAt(i, j)
            i += 1
            j -= 1
        }
    }
}
