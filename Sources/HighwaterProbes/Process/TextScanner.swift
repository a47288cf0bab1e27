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


    /// The integer fields at five ascending positions, and how many fields were seen (up to the last position):
    /// the sampler's statm and stat parses, without an array.
    static func fields(_ bytes: UnsafeBufferPointer<UInt8>, at p: (Int, Int, Int, Int, Int))
        -> (count: Int, values: (UInt64?, UInt64?, UInt64?, UInt64?, UInt64?))
    {
        var v: (UInt64?, UInt64?, UInt64?, UInt64?, UInt64?) = (nil, nil, nil, nil, nil)
        let count = forEachIntegerField(bytes) { i, value in
            if i == p.0 { v.0 = value } else if i == p.1 { v.1 = value } else if i == p.2 { v.2 = value }
            else if i == p.3 { v.3 = value } else if i == p.4 { v.4 = value }
            return i < p.4
        }
        return (count, v)
    }

    /// Calls `body(index, value)` for each space-separated field (value nil when the field is not an integer)
    /// until it returns false; returns how many fields it saw. Allocates nothing: the sampler parses with it.
    @discardableResult
    static func forEachIntegerField(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, UInt64?) -> Bool) -> Int {
        var i = 0
        var index = 0
        while i < bytes.count {
            while i < bytes.count && (bytes[i] == space || bytes[i] == newline) { i += 1 }
            let start = i
            var allDigits = true
            while i < bytes.count && bytes[i] != space && bytes[i] != newline {
                if bytes[i] < 48 || bytes[i] > 57 { allDigits = false }
                i += 1
            }
            if i > start {
                let value = allDigits ? firstInteger(UnsafeBufferPointer(rebasing: bytes[start..<i])) : nil
                let more = body(index, value)
                index += 1
                if !more { break }
            }
        }
        return index
    }
}
