@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

/// An assertion over a run's summary, such as `rss_growth < 8 MiB`, optionally limited to matching runs.
package struct Expectation: Sendable {
    package enum Comparison: String, Sendable, CaseIterable {
        // Longest first so `<=` is not read as `<`.
        case lessOrEqual = "<=", greaterOrEqual = ">=", equal = "==", notEqual = "!=", less = "<", greater = ">"

        func holds(_ a: Double, _ b: Double) -> Bool {
            switch self {
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            case .greaterOrEqual: return a >= b
            case .equal: return a == b
            case .notEqual: return a != b
            }
        }
    }

    /// Which runs an expectation applies to: every key must match one of its patterns (`*` is a wildcard).
    package struct Filter: Sendable {
        package var conditions: [(path: String, patterns: [String], location: SourceLocation)]
        package var isEmpty: Bool { conditions.isEmpty }
        package var description: String {
            conditions.map { "\($0.path) = \($0.patterns.joined(separator: " | "))" }.joined(separator: ", ")
        }
    }

    /// The assertion as written.
    package var text: String
    package var field: SummaryField
    package var comparison: Comparison
    /// The limit in the field's own unit (bytes, milliseconds, count), or a word.
    package var limit: SummaryField.Observed
    package var filter: Filter
    package var location: SourceLocation

    /// `rss_growth < 8 MiB`, with the filter when there is one: the text stored in `RunSummary.expectations`.
    package var fullText: String { filter.isEmpty ? text : "\(text) where \(filter.description)" }

    /// The limit as a person reads it.
    package var limitText: String { field.format(limit) }

    /// An expectation given on the command line (`record --expect 'rss_growth < 64 MiB'`), for every run it is
    /// checked against; the error says what is wrong and how to write it.
    /// `FIELD OP VALUE`, or `PHASE: FIELD OP VALUE` for the phases of a record whose names match PHASE (`*` any
    /// characters): `03-*: growth.classification == linear`.
    package static func parse(commandLine written: String, cores: Int = SystemFacts.onlineCPUs) throws(ExpectationSyntaxError) -> Expectation {
        let location = SourceLocation(file: "--expect", line: 1, column: 1)
        var text = written, filter = Filter(conditions: [])
        if let colon = written.firstIndex(of: ":"), case let phase = written[..<colon],
           !phase.isEmpty, phase.allSatisfy({ $0.isLetter || $0.isNumber || "-_.*".contains($0) }) {
            filter.conditions = [(RunConfiguration.Key.phase, [String(phase)], location)]
            text = String(written[written.index(after: colon)...])
        }
        switch parse(text, location: location, filter: filter, cores: cores) {
        case .success(let e): return e
        case .failure(let problem): throw ExpectationSyntaxError(description: "--expect '\(written)': \(problem.message); \(problem.hint ?? "")")
        }
    }

    /// Parses `FIELD OP VALUE [UNIT]`; the error says what is wrong and how to write it. A count may be written with
    /// the machine's CPUs in it (`threads_max <= 43 + cores`), so a limit scales with the machine it runs on.
    static func parse(_ text: String, location: SourceLocation, filter: Filter, cores: Int) -> Result<Expectation, ValueProblem> {
        var found: (Comparison, Range<String.Index>)?
        for c in Comparison.allCases {
            if let r = text.range(of: c.rawValue), found == nil || r.lowerBound < found!.1.lowerBound { found = (c, r) }
        }
        guard let (comparison, range) = found else {
            return .failure(.init("`\(text)` has no comparison", hint: "write FIELD OP VALUE, e.g. `rss_growth < 8 MiB`; OP is one of < <= > >= == !="))
        }
        let name = text[..<range.lowerBound].trimmed
        var written = text[range.upperBound...].trimmed
        if written.count >= 2, let q = written.first, q == "\"" || q == "'", written.last == q { written = String(written.dropFirst().dropLast()) }
        guard !name.isEmpty, !written.isEmpty else {
            return .failure(.init("`\(text)` needs a field on the left and a value on the right", hint: "e.g. `threads_max <= 44`"))
        }
        guard let field = SummaryField.lookup(name) else {
            let near = ScenarioDiagnostic.suggestion(for: name, among: SummaryField.knownNames).map { "did you mean `\($0)`? " } ?? ""
            return .failure(.init("unknown summary field `\(name)`", hint: near + "fields: " + SummaryField.all.map(\.path).joined(separator: ", ") + ", workload.NAME"))
        }
        switch limitValue(written, field: field, cores: cores) {
        case .failure(let problem): return .failure(problem)
        case .success(let limit):
            if case .word = limit, comparison != .equal, comparison != .notEqual {
                return .failure(.init("`\(field.path)` is a word: compare it with == or !=", hint: "e.g. `\(field.path) == \(written)`"))
            }
            return .success(Expectation(text: text.trimmed, field: field, comparison: comparison, limit: limit, filter: filter, location: location))
        }
    }

    private static func limitValue(_ written: String, field: SummaryField, cores: Int) -> Result<SummaryField.Observed, ValueProblem> {
        if case .count = field.dimension, written.contains("cores") {
            guard let n = CountExpression(written)?.value(cores: cores) else {
                return .failure(.init("`\(written)` is not a count", hint: "write a number or an expression of cores: 44, cores * 5, 43 + cores"))
            }
            return .success(.number(Double(n)))
        }
        if case .word(let choices) = field.dimension {
            if let choices, !choices.contains(written) {
                let near = ScenarioDiagnostic.suggestion(for: written, among: choices).map { "did you mean `\($0)`? " } ?? ""
                return .failure(.init("`\(written)` is not a value of \(field.path)", hint: near + "one of: " + choices.joined(separator: ", ")))
            }
            return .success(.word(written))
        }
        let compact = written.filter { $0 != " " && $0 != "_" }
        let numberEnd = compact.firstIndex { !($0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e") } ?? compact.endIndex
        guard let number = Double(compact[..<numberEnd]) else {
            return .failure(.init("`\(written)` is not a number", hint: "write a number with an optional unit: 8 MiB, 50 ms, 44"))
        }
        let unit = String(compact[numberEnd...])
        if unit.isEmpty { return .success(.number(number)) }
        let byteFactor = Quantity.byteUnits.first { $0.0 == unit.lowercased() }?.1
        let timeFactor = Quantity.durationUnits.first { $0.0 == unit.lowercased() }?.1
        switch field.dimension {
        case .bytes, .workloadNumber:
            if let byteFactor { return .success(.number(number * byteFactor)) }
            return .failure(.init("`\(unit)` is not a size unit, and \(field.path) is a size", hint: "use B, KiB, MiB, GiB, KB, MB or GB"))
        case .milliseconds:
            // `m` reads as minutes for durations but as MiB for sizes; a latency means minutes.
            if let timeFactor { return .success(.number(number * timeFactor / 1e6)) }
            return .failure(.init("`\(unit)` is not a time unit, and \(field.path) is a latency", hint: "use ns, us, ms or s"))
        case .rate:
            if ["rps", "/s", "req/s"].contains(unit.lowercased()) { return .success(.number(number)) }
            return .failure(.init("`\(unit)` is not a rate unit", hint: "write requests per second as a number or with rps"))
        case .count:
            return .failure(.init("\(field.path) is a count and takes no unit, found `\(unit)`", hint: "write e.g. `\(field.path) <= \(Int(number))`"))
        case .word:
            return .success(.word(written))
        }
    }

    /// Whether this expectation is about `run` (its filter matches the run or the configuration it ran);
    /// `setting` reads a setting of that configuration.
    /// An external target's phase carries its configuration's label (`config`) and its phase (`phase`).
    package func applies(to run: RunSummary, setting: (String) -> String?) -> Bool {
        filter.conditions.allSatisfy { condition in
            let actual: String?
            if condition.path == "config" {
                actual = run.configuration?.config ?? run.config
            } else {
                actual = setting(condition.path) ?? run.configuration?[key: condition.path]
            }
            guard let actual else { return condition.patterns.contains("unset") }
            return condition.patterns.contains { Self.matches(actual, pattern: $0, path: condition.path) }
        }
    }

    static func matches(_ value: String, pattern: String, path: String) -> Bool {
        if pattern.contains("*") { return glob(Array(value), Array(pattern)) }
        if value == pattern { return true }
        // Sizes compare by bytes and counts by value: `64 MiB` matches 67108864.
        if let a = Quantity.bytes(value), let b = Quantity.bytes(pattern) { return a == b }
        return false
    }

    private static func glob(_ s: [Character], _ p: [Character]) -> Bool {
        guard let first = p.first else { return s.isEmpty }
        if first == "*" { return (0...s.count).contains { glob(Array(s[$0...]), Array(p.dropFirst())) } }
        return s.first == first && glob(Array(s.dropFirst()), Array(p.dropFirst()))
    }

    /// Checks the run; the result names what was observed in readable units.
    package func evaluate(_ run: RunSummary) -> RunSummary.Expectation {
        // A run without data proves nothing: `errors == 0` on a run that never sent a request must not pass.
        if !run.growth.classification.hasData {
            return .init(text: fullText, passed: false, observed: "no data: the run is \(run.growth.classification.rawValue)" + (run.run_error.map { " (\($0))" } ?? ""))
        }
        guard let observed = field.read(run) else {
            return .init(text: fullText, passed: false, observed: "absent (the run did not record \(field.path))")
        }
        let passed: Bool
        switch (observed, limit) {
        case (.number(let a), .number(let b)): passed = comparison.holds(a, b)
        case (.word(let a), .word(let b)): passed = comparison == .equal ? a == b : a != b
        default: passed = false
        }
        return .init(text: fullText, passed: passed, observed: field.format(observed))
    }
}

/// One expectation checked against one run (or against none, when no run matched), for reports and exit codes.
package struct ExpectationOutcome: Sendable {
    package var scenario: String
    /// The run's label; nil when no run matched the expectation.
    package var config: String?
    package var text: String
    package var passed: Bool
    package var observed: String
    package var limit: String
    package var location: SourceLocation?

    /// `threadpool-growth/eager-40: rss_growth < 8 MiB failed: observed 31.2 MiB, limit 8 MiB`
    package var failureLine: String {
        "\(scenario)/\(config ?? "*"): \(text) failed: \(detail)" + (location.map { " (\($0))" } ?? "")
    }

    /// `observed 31.2 MiB, limit 8 MiB`; an expectation stored with its run (`record --expect`) keeps no limit apart
    /// from its text, so only what was observed.
    package var detail: String {
        "observed \(observed)" + (limit.isEmpty ? "" : ", limit \(limit)")
    }
}

package struct ExpectationSyntaxError: Error, CustomStringConvertible {
    package var description: String
}

package enum ExpectationEvaluator {
    /// The expectations a run carries already (`record --expect` stored them): for results of no scenario file.
    package static func stored(_ runs: [RunSummary]) -> [ExpectationOutcome] {
        runs.flatMap { run in
            run.expectations.map {
                ExpectationOutcome(scenario: run.scenario, config: run.config, text: $0.text, passed: $0.passed,
                                   observed: $0.observed, limit: "", location: nil)
            }
        }
    }


    /// Evaluates every scenario's expectations on the runs that belong to it (by scenario name), fills each run's
    /// `expectations`, and returns one outcome per pair; an expectation that matches no run fails, so a renamed
    /// configuration cannot silently stop being checked.
    package static func evaluate(_ scenarios: [Scenario], runs: [RunSummary]) -> (runs: [RunSummary], outcomes: [ExpectationOutcome]) {
        var runs = runs
        var outcomes: [ExpectationOutcome] = []
        for scenario in scenarios {
            for expectation in scenario.expectations {
                var matched = false
                for index in runs.indices where runs[index].scenario == scenario.name {
                    let run = runs[index]
                    guard expectation.applies(to: run, setting: { scenario.setting($0, of: run) }) else { continue }
                    matched = true
                    let result = expectation.evaluate(run)
                    runs[index].expectations.removeAll { $0.text == result.text }
                    runs[index].expectations.append(result)
                    outcomes.append(.init(scenario: scenario.name, config: run.config, text: result.text, passed: result.passed,
                                          observed: result.observed, limit: expectation.limitText, location: expectation.location))
                }
                if !matched {
                    outcomes.append(.init(scenario: scenario.name, config: nil, text: expectation.fullText, passed: false,
                                          observed: "no run of \(scenario.name) matched", limit: expectation.limitText,
                                          location: expectation.location))
                }
            }
        }
        return (runs, outcomes)
    }
}

extension StringProtocol {
    var trimmed: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
