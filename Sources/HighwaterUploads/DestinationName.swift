/// Why a file name from a request was refused.
package struct DestinationNameError: Error, CustomStringConvertible, Equatable, Sendable {
    package enum Reason: String, Equatable, Sendable {
        case empty = "is empty"
        case dotName = "is . or .."
        case parentReference = "contains a .. component"
        case absolute = "is an absolute path"
        case separator = "contains a path separator (/ or \\)"
        case nul = "contains a NUL byte"
        case control = "contains a control character"
        case tooLong = "is longer than 255 bytes"
    }

    package var name: String
    package var reason: Reason

    /// A refused name is the client's fault: 400.
    package var httpStatus: Int { 400 }

    package var description: String {
        "file name \"\(name.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())\" \(reason.rawValue)"
    }
}

/// File names from the request, confined to the destination directory: a name is one path component or nothing.
/// Seed 001's handler joined user input into a path; here `../x`, `/etc/passwd`, `a\0b` and `a/b` never reach open(2).
package enum DestinationName {
    /// NAME_MAX on Linux filesystems.
    package static let maxLength = 255

    /// The name itself when it is a plain file name; the reason it is not otherwise.
    package static func validate(_ name: String, maxLength: Int = DestinationName.maxLength) throws(DestinationNameError) -> String {
        func refuse(_ reason: DestinationNameError.Reason) -> DestinationNameError {
            DestinationNameError(name: name, reason: reason)
        }
        let bytes = Array(name.utf8)
        if bytes.isEmpty { throw refuse(.empty) }
        if bytes.contains(0) { throw refuse(.nul) }
        if bytes.first == UInt8(ascii: "/") { throw refuse(.absolute) }
        // A Windows drive or UNC path is absolute for any client that sends one.
        if bytes.first == UInt8(ascii: "\\") || (bytes.count >= 2 && bytes[1] == UInt8(ascii: ":") && bytes[0] < 0x80
            && Character(Unicode.Scalar(bytes[0])).isLetter) { throw refuse(.absolute) }
        let components = bytes.split(omittingEmptySubsequences: false) { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") }
        if components.count > 1 {
            throw refuse(components.contains { $0.elementsEqual("..".utf8) } ? .parentReference : .separator)
        }
        if name == "." || name == ".." { throw refuse(.dotName) }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) { throw refuse(.control) }
        if bytes.count > maxLength { throw refuse(.tooLong) }
        return name
    }

    /// `directory/name` for a valid name.
    package static func path(for name: String, in directory: String) throws(DestinationNameError) -> String {
        let valid = try validate(name)
        return directory.hasSuffix("/") ? directory + valid : directory + "/" + valid
    }
}
