/// A decoding failure in words for the person who gave the file: where in the document and what is wrong,
/// instead of the decoder's `DecodingError.typeMismatch(… CodingKeys …)` dump.
package enum DecodingExplanation {
    /// `at runs[2].rss_end: expected a number`; `it is not valid JSON (…)` when the text does not parse.
    /// As `describe(error)`, with the bytes that were decoded: a number out of its field's range is named at its place
    /// (the decoder reports it as invalid JSON).
    package static func describe(_ error: any Error, in bytes: [UInt8]) -> String {
        if case .dataCorrupted(let context)? = error as? DecodingError, context.codingPath.isEmpty,
           let number = JSONNumberRange.firstOutOfRange(bytes) {
            return "at \(number): a number out of range (negative where a count or size is expected, past 2^64, or past the largest number)"
        }
        return describe(error)
    }

    package static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "it cannot be read as JSON" }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(place(context.codingPath)): expected \(kind(type))"
        case .valueNotFound(let type, let context):
            return "\(place(context.codingPath)): \(kind(type)) is missing (null)"
        case .keyNotFound(let key, let context):
            return "\(place(context.codingPath)): the field `\(key.stringValue)` is missing"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "it is not valid JSON (cut short, edited by hand, or not a JSON file)" }
            return "\(place(context.codingPath)): a value that is not allowed there"
        @unknown default:
            return "it does not have the expected fields"
        }
    }

    static func place(_ path: [any CodingKey]) -> String {
        guard !path.isEmpty else { return "at the top level" }
        var text = ""
        for key in path {
            if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == "\(index)" {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return "at " + text
    }

    static func kind(_ type: Any.Type) -> String {
        switch type {
        case is any BinaryInteger.Type: return "a whole number"
        case is any BinaryFloatingPoint.Type: return "a number"
        case is String.Type: return "a text value"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array<") || name.hasPrefix("[") { return "a list" }
            if name.hasPrefix("Dictionary<") { return "an object" }
            if name.hasPrefix("Optional<") { return "a value or null" }
            return "an object"
        }
    }
}
