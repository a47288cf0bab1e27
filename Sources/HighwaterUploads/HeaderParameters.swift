/// The value and `; key=value` parameters of a `Content-Type` or `Content-Disposition` header
/// (RFC 7231 / RFC 6266), for the boundary and the file name; multipart-kit's own helper is internal.
package struct HeaderParameters: Equatable, Sendable {
    /// The part before the first `;`, lowercased (`multipart/form-data`, `form-data`).
    package var value: String
    /// Parameters by lowercased name; quoted values unquoted, `name*` values percent-decoded.
    package var parameters: [String: String]

    package init(parsing header: String) {
        var bytes = Substring(header).utf8[...]
        value = String(decoding: Self.token(&bytes), as: UTF8.self).lowercased()
        parameters = [:]
        while let semicolon = bytes.firstIndex(of: UInt8(ascii: ";")) {
            bytes = bytes[bytes.index(after: semicolon)...]
            Self.skipSpace(&bytes)
            guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else { break }
            let name = String(decoding: bytes[..<eq], as: UTF8.self).trimmingSpaces().lowercased()
            bytes = bytes[bytes.index(after: eq)...]
            Self.skipSpace(&bytes)
            let raw = bytes.first == UInt8(ascii: "\"") ? Self.quoted(&bytes) : Array(Self.token(&bytes)).trimmingTrailingSpaces()
            if name.hasSuffix("*") {
                // RFC 5987 extended value: charset'language'percent-encoded; it wins over the plain one.
                if let decoded = Self.extendedValue(raw) { parameters[String(name.dropLast())] = decoded }
            } else if parameters[name] == nil {
                parameters[name] = String(decoding: raw, as: UTF8.self)
            }
        }
    }

    package subscript(_ name: String) -> String? { parameters[name.lowercased()] }

    private static func skipSpace(_ bytes: inout Substring.UTF8View.SubSequence) {
        while let b = bytes.first, b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { bytes = bytes.dropFirst() }
    }

    /// Up to the next `;`.
    private static func token(_ bytes: inout Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
        let end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
        let token = bytes[..<end]
        bytes = bytes[end...]
        return token
    }

    /// A quoted string; a backslash escapes only `"` and `\`, since browsers send Windows paths' backslashes raw
    /// and dropping them would hide a separator.
    private static func quoted(_ bytes: inout Substring.UTF8View.SubSequence) -> [UInt8] {
        var out: [UInt8] = []
        var i = bytes.index(after: bytes.startIndex)
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i = bytes.index(after: i); break }
            if b == UInt8(ascii: "\\") {
                let next = bytes.index(after: i)
                if next < bytes.endIndex, bytes[next] == UInt8(ascii: "\"") || bytes[next] == UInt8(ascii: "\\") {
                    out.append(bytes[next]); i = bytes.index(after: next); continue
                }
            }
            out.append(b)
            i = bytes.index(after: i)
        }
        bytes = bytes[i...]
        return out
    }

    private static func extendedValue(_ raw: [UInt8]) -> String? {
        let pieces = raw.split(separator: UInt8(ascii: "'"), maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return nil }
        var out: [UInt8] = []
        var i = pieces[2].startIndex
        let v = pieces[2]
        while i < v.endIndex {
            if v[i] == UInt8(ascii: "%"), i + 2 < v.endIndex,
               let byte = UInt8(String(decoding: v[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(byte); i += 3
            } else {
                out.append(v[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension Array where Element == UInt8 {
    func trimmingTrailingSpaces() -> [UInt8] {
        var a = self
        while let b = a.last, b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { a.removeLast() }
        return a
    }
}
