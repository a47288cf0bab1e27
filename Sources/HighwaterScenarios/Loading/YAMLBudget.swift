import CLibYAML
import HighwaterRecords

/// Counts the values a YAML text expands to, aliases included, with libyaml's event parser before Yams builds
/// anything: Yams expands every alias and hashes mapping keys, so nine levels of nine aliases (1 KiB of text)
/// would take minutes and gigabytes. The count costs one pass over the events and a number per anchor.
enum YAMLBudget {
    struct Exceeded: Equatable {
        var line: Int
        var column: Int
        var message: String
        var hint: String
    }

    /// Nil when the text stays within `maxNodes` expanded values and `maxDepth` levels, or when libyaml finds a
    /// syntax error (Yams then reports it with its own words).
    static func check(_ text: String, maxNodes: Int = InputLimits.maxYAMLNodes, maxDepth: Int = InputLimits.maxYAMLDepth) -> Exceeded? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        var utf8 = Array(text.utf8)
        return utf8.withUnsafeMutableBufferPointer { buffer -> Exceeded? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var total = 0
            var sizes: [String: Int] = [:]
            var open: [(anchor: String?, start: Int)] = []
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                let mark = event.start_mark
                func at(_ message: String, _ hint: String) -> Exceeded {
                    Exceeded(line: Int(mark.line) + 1, column: Int(mark.column) + 1, message: message, hint: hint)
                }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_SCALAR_EVENT:
                    total += 1
                    if let anchor = name(event.data.scalar.anchor) { sizes[anchor] = 1 }
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                    open.append((name(anchor), total))
                    total += 1
                    if open.count > maxDepth {
                        return at("the YAML nests deeper than \(maxDepth) levels", "scenario and limits files nest a few levels; flatten the mappings and lists")
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    if let (anchor, start) = open.popLast(), let anchor { sizes[anchor] = total - start }
                case YAML_ALIAS_EVENT:
                    // An undefined alias counts one; Yams reports it.
                    total += name(event.data.alias.anchor).flatMap { sizes[$0] } ?? 1
                default:
                    break
                }
                if total > maxNodes {
                    return at("the YAML expands to more than \(maxNodes) values (aliases are expanded where they are used)",
                              "write the values out instead of repeating aliases; a scenario has a few dozen values")
                }
            }
        }
    }

    private static func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }
}
