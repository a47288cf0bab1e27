/// The field table of a record written one JSON line at a time (a sample, a request): one case per field, in the
/// order the writer puts them on the line. A case's name is the field's JSON name on disk and its Codable key; its
/// raw value (0, 1, … in order) is its position, the id the loader's key table gives it.
package protocol JSONLineField: CodingKey, CaseIterable, Hashable, RawRepresentable, Sendable where RawValue == Int {}

/// A record whose writer, reader and keys come from its field table: `subscript(field)` is the one place a field
/// meets its value; the writer (`JSONLine.write`), the Codable keys and the loader's key table walk `Field`.
package protocol JSONLineRecord {
    associatedtype Field: JSONLineField
    /// The value `field` has on the line.
    subscript(field: Field) -> JSONLine.Value { get }
    /// `JSONLine.Keys<Field>()`, kept in a `static let`.
    static var keys: JSONLine.Keys<Field> { get }
}
