import HighwaterHost
/// What a `Range` header asks of a file of a known size (RFC 9110 §14): all of it, one slice, or nothing it has.
/// One range only: a list of ranges is answered with the whole file, which the RFC allows.
package enum ByteRange: Equatable, Sendable {
    case whole
    /// Bytes `start...end`, both inclusive, as `Content-Range` writes them.
    case slice(start: Int, end: Int)
    /// Starts past the end of the file: 416 with `Content-Range: bytes */SIZE`.
    case unsatisfiable

    package init(header: String?, size: Int) {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { self = .whole; return }
        let spec = header.dropFirst("bytes=".count).filter { $0 != " " }
        guard let dash = spec.firstIndex(of: "-") else { self = .whole; return }
        let first = Int(spec[..<dash])
        let last = Int(spec[spec.index(after: dash)...])
        switch (first, last) {
        case (let start?, let end):
            if let end, end < start { self = .whole; return }
            guard start < size else { self = .unsatisfiable; return }
            self = .slice(start: start, end: min(end ?? size - 1, size - 1))
        case (nil, let suffix?):
            // The last `suffix` bytes.
            guard suffix > 0, size > 0 else { self = .unsatisfiable; return }
            self = .slice(start: max(0, size - suffix), end: size - 1)
        case (nil, nil):
            self = .whole
        }
    }

    /// The bytes to send of a file of `size`: offset and count.
    package func span(size: Int) -> (offset: Int, count: Int) {
        switch self {
        case .whole: (0, size)
        case .slice(let start, let end): (start, end - start + 1)
        case .unsatisfiable: (0, 0)
        }
    }
}
