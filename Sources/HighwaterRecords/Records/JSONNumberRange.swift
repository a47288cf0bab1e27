/// Finds, in JSON that parses, the first number no Highwater field can hold (negative where counts and bytes are
/// unsigned, past 2^64, past the largest double): the decoder calls all of these "not valid JSON", which sends a
/// reader looking for a syntax error that is not there. Nil when the text is not valid JSON or has no such number.
package enum JSONNumberRange {
    /// `runs[0].rss_end: -5`.
    package static func firstOutOfRange(_ bytes: [UInt8]) -> String? {
        var scanner = Scanner(bytes: bytes)
        guard scanner.value(path: ""), scanner.atEnd else { return nil }
        return scanner.found
    }

    struct Scanner {
        let bytes: [UInt8]
        var i = 0
        var found: String?
        /// Nesting is bounded: a results summary is a few levels deep, and recursion must not exhaust the stack.
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { mutating get { skipSpace(); return i == bytes.count } }

        mutating func skipSpace() { while i < bytes.count, [9, 10, 13, 32].contains(bytes[i]) { i += 1 } }

        mutating func value(path: String) -> Bool {
            skipSpace()
            guard i < bytes.count, depth < 64 else { return false }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                depth += 1; defer { depth -= 1 }
                i += 1; skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return true }
                while true {
                    skipSpace()
                    guard let key = string() else { return false }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return false }
                    i += 1
                    guard value(path: path.isEmpty ? key : path + "." + key) else { return false }
                    skipSpace()
                    guard i < bytes.count else { return false }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return true }
                    return false
                }
            case UInt8(ascii: "["):
                depth += 1; defer { depth -= 1 }
                i += 1; skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return true }
                var index = 0
                while true {
                    guard value(path: path + "[\(index)]") else { return false }
                    index += 1
                    skipSpace()
                    guard i < bytes.count else { return false }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return true }
                    return false
                }
            case UInt8(ascii: "\""):
                return string() != nil
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default:
                return number(path: path)
            }
        }

        mutating func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { return false }
            i += w.count
            return true
        }

        /// A string's text (escapes kept as written: only keys are used, to name a place).
        mutating func string() -> String? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            let start = i
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                i += 1
            }
            guard i < bytes.count else { return nil }
            defer { i += 1 }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        mutating func number(path: String) -> Bool {
            let start = i
            while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
            guard i > start else { return false }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            guard let x = Double(text) else { return false }
            let integral = !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
            // A negative fraction (a slope) is a value some fields hold; a negative whole number or one past 2^64 none does.
            if found == nil, !x.isFinite || (integral && UInt64(text) == nil) {
                found = "\(path.isEmpty ? "the top level" : path): \(text)"
            }
            return true
        }
    }
}
