/// Parsing helpers over the bytes of a /proc file, without building Strings on the hot path.
enum TextScanner {
    static let newline = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let colon = UInt8(ascii: ":")

    /// Calls `body(key, rest)` for each `Key: value` line.
    static func forEachField(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Void) {
        var lineStart = 0
        let count = bytes.count
        while lineStart < count {
            var end = lineStart
            while end < count && bytes[end] != newline { end += 1 }
            var colonAt = lineStart
            while colonAt < end && bytes[colonAt] != colon { colonAt += 1 }
            if colonAt < end {
                body(UnsafeBufferPointer(rebasing: bytes[lineStart..<colonAt]),
                     UnsafeBufferPointer(rebasing: bytes[(colonAt + 1)..<end]))
            }
            lineStart = end + 1
        }
    }

    static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let lit = literal.utf8Start
        for i in 0..<bytes.count where bytes[i] != lit[i] { return false }
        return true
    }

    /// The first unsigned integer in `bytes`, skipping leading blanks; nil if there is none.
    static func firstInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var i = 0
        while i < bytes.count && (bytes[i] == space || bytes[i] == UInt8(ascii: "\t")) { i += 1 }
        var value: UInt64 = 0
        var digits = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(bytes[i] - 48))
            if o1 || o2 { return nil }
            value = a
            digits += 1
            i += 1
        }
        return digits > 0 ? value : nil
    }

    /// A `NNN kB` value in bytes.
    static func kilobytes(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        firstInteger(bytes).map(kib)
    }

    /// Space-separated fields as integers (nil for a field that is not one).
    static func integerFields(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt64?] {
        var result: [UInt64?] = []
        var i = 0
        while i < bytes.count {
            while i < bytes.count && (bytes[i] == space || bytes[i] == newline) { i += 1 }
            let start = i
            while i < bytes.count && bytes[i] != space && bytes[i] != newline { i += 1 }
            if i > start {
                let field = UnsafeBufferPointer(rebasing: bytes[start..<i])
                let allDigits = field.allSatisfy { $0 >= 48 && $0 <= 57 }
                result.append(allDigits ? firstInteger(field) : nil)
            }
        }
        return result
    }
}
