import HighwaterRecords

/// A place in an input file, 1-based like compilers and Yams' `Mark`.
package struct SourceLocation: Equatable, Hashable, Sendable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var column: Int
    package init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }
    package var description: String { "\(file):\(line):\(column)" }
}

/// One problem in an input file, rendered as `file:line:column: error: message`, the offending line, a caret
/// and a hint, the way Yams and compilers print them so editors and CI annotate the line.
package struct ScenarioDiagnostic: Equatable, Hashable, Sendable, CustomStringConvertible {
    package var location: SourceLocation
    package var message: String
    package var hint: String?
    /// The offending line as written, without its newline.
    package var sourceLine: String

    package init(location: SourceLocation, message: String, hint: String? = nil, sourceLine: String = "") {
        self.location = location; self.message = message; self.hint = hint; self.sourceLine = sourceLine
    }

    package var description: String {
        var text = "\(location): error: \(Excerpt.shortening(message))"
        if !sourceLine.isEmpty {
            // Columns count Unicode scalars (libyaml); pad with the same count so the caret lines up.
            let (shown, caretColumn) = Excerpt.window(of: sourceLine, around: location.column)
            let pad = String(repeating: " ", count: max(0, caretColumn - 1))
            text += "\n" + shown + "\n" + pad + "^"
        }
        if let hint { text += "\nhint: " + Excerpt.shortening(hint) }
        return text
    }

    /// The closest of `candidates` to `word` when it is close enough to be a likely typo.
    package static func suggestion(for word: String, among candidates: [String]) -> String? {
        let w = Array(word.lowercased().unicodeScalars)
        var best: (String, Int)?
        for candidate in candidates {
            let c = Array(candidate.lowercased().unicodeScalars)
            // The distance is at least the difference in length: a 100,000-character word is no typo of `eager`.
            if abs(w.count - c.count) > max(2, candidate.count / 3) { continue }
            let d = editDistance(w, c)
            if d < (best?.1 ?? Int.max) { best = (candidate, d) }
        }
        guard let (candidate, distance) = best else { return nil }
        return distance <= max(2, candidate.count / 3) ? candidate : nil
    }

    private static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// What an error may echo of the input: a long line or value is cut, so a 100,000-character line prints one
/// screen line, not a screenful.
package enum Excerpt {
    /// Part of `line` around `column` (1-based, in Unicode scalars), at most `InputLimits.maxEchoedLineCharacters`
    /// long, with `…` where it was cut; and where the column falls in what is shown.
    package static func window(of line: String, around column: Int, width: Int = InputLimits.maxEchoedLineCharacters) -> (String, Int) {
        let scalars = Array(line.unicodeScalars)
        guard scalars.count > width else { return (line, column) }
        let start = min(max(0, column - 1 - width / 2), scalars.count - width)
        let end = start + width
        var shown = String(String.UnicodeScalarView(scalars[start..<end]))
        var caret = column - start
        if start > 0 { shown = "…" + shown; caret += 1 }
        if end < scalars.count { shown += "… (\(scalars.count) characters)" }
        return (shown, caret)
    }

    /// `text` with every quoted value (between backticks) longer than 80 characters cut to its start, and the
    /// whole at most a few screen lines.
    package static func shortening(_ text: String, value width: Int = 80, total: Int = 2000) -> String {
        var out = ""
        var parts = text.split(separator: "`", omittingEmptySubsequences: false)
        for i in parts.indices where i % 2 == 1 && i < parts.count - 1 && parts[i].count > width {
            parts[i] = parts[i].prefix(width) + "… (\(parts[i].count) characters)"
        }
        out = parts.joined(separator: "`")
        if out.count > total { out = String(out.prefix(total)) + "…" }
        return out
    }
}

/// Every problem found in one or more files; loading reports them all at once, not the first only.
package struct ScenarioLoadError: Error, Sendable, CustomStringConvertible {
    package var diagnostics: [ScenarioDiagnostic]
    package init(_ diagnostics: [ScenarioDiagnostic]) { self.diagnostics = diagnostics }
    package var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics for one file, with its text so each can quote its line.
struct DiagnosticSink {
    let file: String
    let lines: [Substring]
    private(set) var diagnostics: [ScenarioDiagnostic] = []

    init(file: String, text: String) {
        self.file = file
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    mutating func error(_ message: String, at location: SourceLocation?, hint: String? = nil) {
        let loc = location ?? SourceLocation(file: file, line: 1, column: 1)
        let line = loc.line >= 1 && loc.line <= lines.count ? String(lines[loc.line - 1]) : ""
        let d = ScenarioDiagnostic(location: loc, message: message, hint: hint,
                                   sourceLine: line.hasSuffix("\r") ? String(line.dropLast()) : line)
        // Sweeps revisit the same value for each point: say each problem once.
        if !diagnostics.contains(d) { diagnostics.append(d) }
    }

    var sorted: [ScenarioDiagnostic] {
        diagnostics.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
    }
}
