import FoundationEssentials

/// `scenarios/schema.json` read as plain JSON, with what the tests ask of it: the setting paths a part of the
/// schema accepts and the definition each one points at.
struct SchemaDocument {
    indirect enum Value: Decodable, Equatable {
        case object([String: Value])
        case array([Value])
        case string(String)
        case number(Double)
        case bool(Bool)
        case null

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let n = try? c.decode(Double.self) { self = .number(n) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([Value].self) { self = .array(a) }
            else { self = .object(try c.decode([String: Value].self)) }
        }

        subscript(_ key: String) -> Value? {
            if case .object(let o) = self { return o[key] }
            return nil
        }

        var object: [String: Value] { if case .object(let o) = self { return o } else { return [:] } }
        var array: [Value] { if case .array(let a) = self { return a } else { return [] } }
        var string: String? { if case .string(let s) = self { return s } else { return nil } }
        /// `#/$defs/NAME` → NAME.
        var refName: String? { self["$ref"]?.string.map { String($0.dropFirst("#/$defs/".count)) } }
    }

    let root: Value

    init(path: String) throws {
        root = try JSONDecoder().decode(Value.self, from: Data(contentsOf: URL(filePath: path)))
    }

    func definition(_ name: String) -> Value? { root["$defs"]?[name] }

    /// A setting accepted at a dotted path, with the definition of its value (`count`, `positiveSize`, …).
    /// `environment.*` stands for every variable name, `target.parameters.*` for every parameter.
    struct Leaf: Hashable {
        var path: String
        var definition: String?
    }

    /// The setting paths a schema object accepts, nested groups and dotted keys alike, following `$ref` and `allOf`.
    /// A sweep's `sweepOfX` lists count as the X they list.
    func leaves(of value: Value, prefix: String = "", skipping skipped: Set<String> = []) -> Set<Leaf> {
        let node = value.refName.flatMap { definition($0) } ?? value
        var out: Set<Leaf> = []
        for part in node["allOf"]?.array ?? [] { out.formUnion(leaves(of: part, prefix: prefix, skipping: skipped)) }
        let properties = node["properties"]?.object ?? [:]
        for (key, sub) in properties where !skipped.contains(key) {
            if isGroup(sub) {
                out.formUnion(leaves(of: sub, prefix: prefix + key + "."))
            } else {
                out.insert(Leaf(path: prefix + key, definition: valueDefinition(sub)))
            }
        }
        // `^environment\\..+$` is `environment.*`, `^target\\.parameters\\..+$` is `target.parameters.*`.
        for (pattern, sub) in node["patternProperties"]?.object ?? [:] {
            let path = pattern.dropFirst().replacing("\\.", with: ".").replacing(".+$", with: "*")
            out.insert(Leaf(path: prefix + path, definition: valueDefinition(sub)))
        }
        // `environment: {NAME: VALUE}`: any key is a variable.
        if properties.isEmpty, node["patternProperties"] == nil, let any = node["additionalProperties"], any["$ref"] != nil {
            out.insert(Leaf(path: prefix + "*", definition: valueDefinition(any)))
        }
        return out
    }

    /// The definition a setting's value points at; a sweep's list of X counts as X.
    private func valueDefinition(_ value: Value) -> String? {
        value.refName.map { definition($0)?["items"]?.refName ?? $0 }
    }

    /// A mapping of further settings, not a value.
    private func isGroup(_ value: Value) -> Bool {
        let resolved = value.refName.flatMap { definition($0) } ?? value
        return resolved["type"]?.string == "object" && (resolved["properties"] != nil || resolved["additionalProperties"]?["$ref"] != nil)
    }

    /// The names a pattern of the form `^\s*(a|b\.c|…)\s*(<=|…)` lists, unescaped.
    static func alternatives(inPattern pattern: String) -> [String] {
        guard let open = pattern.firstRange(of: "("), let close = pattern.firstRange(of: ")\\s*(") else { return [] }
        return pattern[open.upperBound..<close.lowerBound].split(separator: "|").map { String($0).replacing("\\.", with: ".") }
    }
}
