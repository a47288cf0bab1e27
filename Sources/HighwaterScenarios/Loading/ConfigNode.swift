import HighwaterRecords
import Yams

/// A YAML value with the place it was written, detached from Yams so the model stays `Sendable`.
indirect enum ConfigNode: Sendable {
    struct Entry: Sendable {
        var key: String
        var keyLocation: SourceLocation
        var value: ConfigNode
    }

    case scalar(String, isNull: Bool, SourceLocation)
    case list([ConfigNode], SourceLocation)
    case map([Entry], SourceLocation)

    var location: SourceLocation {
        switch self {
        case .scalar(_, _, let l), .list(_, let l), .map(_, let l): return l
        }
    }

    /// What a person calls this kind of value, for "expected a size, found a list".
    var kindName: String {
        switch self {
        case .scalar(_, true, _): return "nothing (null)"
        case .scalar: return "a single value"
        case .list: return "a list"
        case .map: return "a mapping"
        }
    }

    var scalarText: String? {
        if case .scalar(let s, false, _) = self { return s }
        return nil
    }

    var isNull: Bool {
        if case .scalar(_, true, _) = self { return true }
        return false
    }

    /// Parses YAML text; a syntax error becomes a diagnostic at its line and column and the result is nil.
    static func parse(_ text: String, sink: inout DiagnosticSink,
                      emptyHint: String = "a scenario needs at least `name`, `executor`, `workload` and `load`") -> ConfigNode? {
        if text.utf8.count > InputLimits.maxFileBytes {
            sink.error("the file is \(Quantity.formatBytes(text.utf8.count)), more than the \(Quantity.formatBytes(InputLimits.maxFileBytes)) a scenario or limits file may have",
                       at: nil, hint: "a scenario is a few KiB of YAML; check that this is the file you meant")
            return nil
        }
        if let over = YAMLBudget.check(text) {
            sink.error(over.message, at: SourceLocation(file: sink.file, line: over.line, column: over.column), hint: over.hint)
            return nil
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            report(error, text: text, sink: &sink)
            return nil
        } catch {
            sink.error("cannot read YAML: \(error)", at: nil)
            return nil
        }
        guard let root else {
            sink.error("the file is empty", at: nil, hint: emptyHint)
            return nil
        }
        return convert(root, file: sink.file, sink: &sink)
    }

    private static func convert(_ node: Node, file: String, sink: inout DiagnosticSink) -> ConfigNode? {
        let mark = node.mark
        let location = SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
        switch node {
        case .scalar(let scalar):
            let s = scalar.string
            let isNull = scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s)
            return .scalar(s, isNull: isNull, location)
        case .sequence(let sequence):
            return .list(sequence.compactMap { convert($0, file: file, sink: &sink) }, location)
        case .mapping(let mapping):
            var entries: [Entry] = []
            for (key, value) in mapping {
                let keyMark = key.mark
                let keyLocation = SourceLocation(file: file, line: keyMark?.line ?? 1, column: keyMark?.column ?? 1)
                guard case .scalar(let k) = key else {
                    sink.error("a key must be a plain word, found \(key)", at: keyLocation)
                    continue
                }
                guard let v = convert(value, file: file, sink: &sink) else { continue }
                entries.append(Entry(key: k.string, keyLocation: keyLocation, value: v))
            }
            return .map(entries, location)
        case .alias:
            sink.error("YAML aliases are not supported in scenario files", at: location, hint: "write the value out")
            return nil
        }
    }

    private static func report(_ error: YamlError, text: String, sink: inout DiagnosticSink) {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: sink.file, line: mark.line, column: mark.column) }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let where_ = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            sink.error("YAML syntax: \(problem)\(where_)", at: at(mark),
                       hint: "check indentation (spaces, not tabs), colons after keys and closing brackets or quotes")
        case .reader(let problem, let offset, _, _):
            let prefix = text.utf8.prefix(offset ?? 0)
            let line = prefix.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            let column = (prefix.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).last?.count ?? 0) + 1
            sink.error("YAML: \(problem)", at: SourceLocation(file: sink.file, line: line, column: column),
                       hint: "scenario files are UTF-8 text")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            sink.error("duplicate key `\(key)`", at: secondOccurrence(of: key, after: context.mark, in: text, file: sink.file) ?? at(context.mark),
                       hint: "each key may appear once in a mapping; merge the two or remove one")
        default:
            sink.error("YAML: \(error)", at: nil)
        }
    }

    /// Yams marks the first of two duplicate keys; the second is the one to point at.
    private static func secondOccurrence(of key: String, after mark: Mark, in text: String, file: String) -> SourceLocation? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // Yams counts line breaks libyaml's way (also `\r` alone); past our last line there is nothing to point at.
        guard mark.line >= 1, mark.line < lines.count else { return nil }
        for index in mark.line..<lines.count {
            let line = lines[index]
            let indent = line.prefix(while: { $0 == " " }).count
            if indent == mark.column - 1, line.dropFirst(indent).hasPrefix(key + ":") {
                return SourceLocation(file: file, line: index + 1, column: indent + 1)
            }
        }
        return nil
    }
}
