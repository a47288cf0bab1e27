import HighwaterRecords

/// Reads one flat JSON object (numbers, strings, booleans, null; no nesting) without a general decoder:
/// a million request lines must load in seconds, and JSONDecoder per line takes minutes.
struct JSONLineScanner {
    enum Kind { case number, string, escapedString, null, boolean }

    /// A value inside the line buffer; read it with the accessors while the buffer is alive.
    struct Value {
        let kind: Kind
        let start: Int
        let end: Int
        let base: UnsafePointer<UInt8>

        /// The value as an unsigned integer; 0 for null, negatives and non-numbers.
        var uint64: UInt64 {
            guard kind == .number else { return 0 }
            var v: UInt64 = 0
            var p = start
            while p < end {
                let d = base[p] &- 48
                if d > 9 { return base[start] == UInt8(ascii: "-") ? 0 : UInt64(exactly: max(0, double).rounded(.down)) ?? (double.isNaN ? 0 : .max) }
                v = v &* 10 &+ UInt64(d)
                p += 1
            }
            return v
        }

        var int64: Int64 {
            guard kind == .number else { return 0 }
            if base[start] == UInt8(ascii: "-") {
                var v: Int64 = 0
                var p = start + 1
                while p < end {
                    let d = base[p] &- 48
                    if d > 9 { return Int64(exactly: double.rounded(.down)) ?? (double.isNaN ? 0 : .min) }
                    v = v &* 10 &+ Int64(d)
                    p += 1
                }
                return 0 &- v
            }
            return Int64(bitPattern: uint64)
        }

        var double: Double {
            guard kind == .number else { return 0 }
            return Double(String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)) ?? 0
        }

        var string: String? {
            switch kind {
            case .null: return nil
            case .string: return String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
            case .escapedString: return unescaped()
            case .number, .boolean:
                return String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
            }
        }

        private func unescaped() -> String {
            var out: [UInt8] = []
            out.reserveCapacity(end - start)
            var p = start
            while p < end {
                let b = base[p]
                guard b == UInt8(ascii: "\\"), p + 1 < end else { out.append(b); p += 1; continue }
                let e = base[p + 1]
                p += 2
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "u"):
                    var code: UInt32 = 0
                    var k = 0
                    while k < 4, p < end, let h = hexValue(base[p]) { code = code << 4 | h; p += 1; k += 1 }
                    if let scalar = Unicode.Scalar(code) { out.append(contentsOf: Array(String(Character(scalar)).utf8)) }
                default: out.append(e)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        private func hexValue(_ b: UInt8) -> UInt32? {
            switch b {
            case 48...57: return UInt32(b - 48)
            case 97...102: return UInt32(b - 87)
            case 65...70: return UInt32(b - 55)
            default: return nil
            }
        }
    }

    /// The keys of a record's field table; a key's id is its field's position.
    struct KeyTable<Field: JSONLineField> {
        /// The fields by id, so a key found becomes its field without `Field(rawValue:)` (a call per key).
        let fields = Array(Field.allCases)
        let keys: [[UInt8]]
        init() { keys = fields.map { Array($0.stringValue.utf8) } }

        /// Looks from `hint` on, then before it: writers emit keys in table order and leave absent fields out, so
        /// the key is usually the expected one or a little after it.
        func id(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, hint: Int) -> Int? {
            let n = end - start
            let from = min(hint, keys.count)
            for k in from..<keys.count where matches(keys[k], base, start, n) { return k }
            for k in 0..<from where matches(keys[k], base, start, n) { return k }
            return nil
        }

        private func matches(_ key: [UInt8], _ base: UnsafePointer<UInt8>, _ start: Int, _ n: Int) -> Bool {
            guard key.count == n else { return false }
            return key.withUnsafeBufferPointer { k in
                var i = 0
                while i < n { if k[i] != base[start + i] { return false }; i += 1 }
                return true
            }
        }
    }

    /// Calls `body` with each field of the table the line holds and its value; returns false when the line is not a
    /// flat object (a line cut short by an interrupted run, for example).
    static func scan<Field>(_ base: UnsafePointer<UInt8>, from: Int, to end: Int, keys: KeyTable<Field>,
                            _ body: (Field, Value) -> Void) -> Bool {
        var p = from
        @inline(__always) func skipSpace() { while p < end, base[p] == 32 || base[p] == 9 || base[p] == 13 { p += 1 } }
        skipSpace()
        guard p < end, base[p] == UInt8(ascii: "{") else { return false }
        p += 1
        var hint = 0
        while true {
            skipSpace()
            guard p < end else { return false }
            if base[p] == UInt8(ascii: "}") { return true }
            guard base[p] == UInt8(ascii: "\"") else { return false }
            let keyStart = p + 1
            p = keyStart
            while p < end, base[p] != UInt8(ascii: "\"") { if base[p] == UInt8(ascii: "\\") { p += 1 }; p += 1 }
            guard p < end else { return false }
            let keyEnd = p
            p += 1
            skipSpace()
            guard p < end, base[p] == UInt8(ascii: ":") else { return false }
            p += 1
            skipSpace()
            guard p < end else { return false }
            let value: Value
            switch base[p] {
            case UInt8(ascii: "\""):
                let s = p + 1
                p = s
                var escaped = false
                while p < end, base[p] != UInt8(ascii: "\"") {
                    if base[p] == UInt8(ascii: "\\") { escaped = true; p += 1 }
                    p += 1
                }
                guard p < end else { return false }
                value = Value(kind: escaped ? .escapedString : .string, start: s, end: p, base: base)
                p += 1
            case UInt8(ascii: "n"):
                guard p + 4 <= end else { return false }
                value = Value(kind: .null, start: p, end: p + 4, base: base)
                p += 4
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                let s = p
                while p < end, base[p] >= UInt8(ascii: "a"), base[p] <= UInt8(ascii: "z") { p += 1 }
                value = Value(kind: .boolean, start: s, end: p, base: base)
            default:
                let s = p
                while p < end {
                    let b = base[p]
                    if (b >= 48 && b <= 57) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
                        || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") { p += 1 } else { break }
                }
                guard p > s else { return false }
                value = Value(kind: .number, start: s, end: p, base: base)
            }
            if let id = keys.id(base, keyStart, keyEnd, hint: hint) {
                body(keys.fields[id], value)
                hint = id + 1
            }
            skipSpace()
            guard p < end else { return false }
            if base[p] == UInt8(ascii: ",") { p += 1; continue }
            if base[p] == UInt8(ascii: "}") { return true }
            return false
        }
    }
}
