import ArgumentParser
import FoundationEssentials
import HighwaterRecords
import HighwaterProbes
import HighwaterScenarios
@preconcurrency import Glibc
import HighwaterSystem

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Fail a CI job when a scenario's expectation or a configuration limit is crossed.",
        discussion: """
            check SCENARIO…        run the scenarios and evaluate their `expect` blocks
            check --results DIR    evaluate DIR/summary.json against the scenarios' `expect` blocks (no run)
            check --limits FILE    check a service's configuration (memory, pool, temp dir) without running

            A scenario with `target:` guards a server Highwater did not build (any language): each configuration is \
            started and recorded as `highwater record` records it, each load phase a run, e.g.
              highwater check examples/external-python-threadpool.yaml

            Exit codes: 0 all hold; 1 an expectation or limit failed; 2 bad input; 3 could not run (also: a target \
            that would not start or never became ready).
            """
    )

    @Argument(help: "Scenario files or directories (default: scenarios/ when --results is given).")
    var scenarios: [String] = []

    @Option(name: .long, help: "Evaluate the stored results in DIR/summary.json instead of running.")
    var results: String?

    @Option(name: .long, help: "A limits file describing a service (see examples/).")
    var limits: [String] = []

    @Option(name: .long, help: "Write JUnit XML: one test case per expectation or limit.")
    var junit: String?

    @Option(name: .long, help: "Write a Markdown summary fit for a CI job summary.")
    var markdown: String?

    @OptionGroup var options: RunOptions

    func validate() throws {
        if scenarios.isEmpty && results == nil && limits.isEmpty {
            throw ValidationError("give scenario files, --results DIR or --limits FILE")
        }
    }

    func run() async throws {
        Interruption.install()
        var cases: [CheckCase] = []
        let cpuCount = options.cpuCount
        if !scenarios.isEmpty || results != nil {
            let evaluated: (runs: [RunSummary], outcomes: [ExpectationOutcome])
            if let results {
                let runs = try Self.readResults(results)
                // Named files are checked whole (an expectation with no run fails); the default scenarios/ only
                // where DIR holds their runs, beside the expectations runs carry themselves (`record --expect`).
                var loaded = scenarios.isEmpty && (try? ScenarioExecution.defaultScenarioDirectory()) == nil
                    ? [] : try ScenarioExecution.load(scenarios, cores: cpuCount)
                if scenarios.isEmpty { loaded = loaded.filter { s in runs.contains { $0.scenario == s.name } } }
                let named = Set(loaded.map(\.name))
                var found = ExpectationEvaluator.evaluate(loaded, runs: runs)
                found.outcomes += ExpectationEvaluator.stored(runs.filter { !named.contains($0.scenario) })
                evaluated = found
            } else {
                let loaded = try ScenarioExecution.load(scenarios, cores: cpuCount)
                evaluated = try await ScenarioExecution.run(loaded, quick: options.quick, requests: nil, out: options.out,
                                                            timeLimitNs: options.timeLimit?.nanoseconds)
                // A run cut short by Ctrl-C proves nothing either way: not a failed expectation, a check not carried out.
                if Interruption.requested { throw HighwaterFailure.couldNotRun("interrupted; the finished runs are in \(options.out)") }
            }
            cases += evaluated.outcomes.map {
                CheckCase(suite: $0.scenario, name: "\($0.config ?? "*"): \($0.text)", passed: $0.passed,
                          detail: $0.detail, failureLine: $0.failureLine)
            }
        }
        for file in limits {
            let service: ServiceLimits
            do { service = try ServiceLimits.load(path: file) } catch { throw HighwaterFailure.badFiles(error.description) }
            let readings = MachineReadings(cgroupMemoryMax: try? CgroupProbe.read().memoryMax) { path in
                (try? FilesystemProbe.usage(of: path)).map { ($0.capacity, $0.isTmpfs) }
            }
            let outcomes: [LimitOutcome]
            do { outcomes = try LimitsCheck.evaluate(service, readings: readings) } catch {
                throw HighwaterFailure.couldNotRun("\(error)")
            }
            for o in outcomes {
                print("\(o.passed ? "PASS" : "FAIL") \(o.name): worst case \(Quantity.formatBytes(o.worstCase)), limit \(Quantity.formatBytes(o.capacity)), headroom \(Quantity.formatBytes(o.headroom)). \(o.sentence)")
            }
            cases += outcomes.map {
                CheckCase(suite: "limits \(file)", name: $0.name, passed: $0.passed,
                          detail: "worst case \(Quantity.formatBytes($0.worstCase)), limit \(Quantity.formatBytes($0.capacity)), headroom \(Quantity.formatBytes($0.headroom)). \($0.sentence)",
                          failureLine: $0.failureLine)
            }
        }
        for c in cases where !c.passed { Terminal.write("FAILED \(c.failureLine)\n") }
        if let junit { try Self.write(CheckCase.junit(cases), to: junit) }
        if let markdown { try Self.write(CheckCase.markdown(cases), to: markdown) }
        let failed = cases.filter { !$0.passed }.count
        print("\(cases.count - failed) of \(cases.count) checks hold" + (failed > 0 ? "; \(failed) failed" : ""))
        if failed > 0 { throw ExitStatus.failed }
    }

    static func readResults(_ dir: String) throws -> [RunSummary] {
        let path = dir.hasSuffix(".json") ? dir : dir + "/summary.json"
        let bytes: [UInt8]
        do { bytes = try ResultsFile.read(path) } catch {
            if !dir.hasSuffix(".json"), (try? Syscall.linkStatus(dir + "/samples.jsonl")) != nil {
                throw HighwaterFailure.badInput("cannot read \(path): \(error.reason); \(dir) holds samples.jsonl from a `highwater sample` that wrote no verdict (an older version): sample again with --out \(dir)")
            }
            throw HighwaterFailure.badInput("cannot read \(path): \(error.reason); give the results directory a `highwater run --out DIR` wrote, or run it first")
        }
        do { return try JSONDecoder().decode(ResultsSummary.self, from: Data(bytes)).runs } catch {
            throw HighwaterFailure.badInput("\(path) is not a Highwater results summary: \(DecodingExplanation.describe(error)); run `highwater run --out \(dir)` again to rewrite it")
        }
    }

    static func write(_ text: String, to path: String) throws {
        do { try ResultsFile.write(path, text) } catch {
            throw HighwaterFailure.couldNotRun("cannot write \(path): \(error.reason); check that its folder exists and is writable")
        }
    }
}

/// One expectation or limit as CI sees it: a JUnit test case and a Markdown row.
struct CheckCase {
    var suite: String
    var name: String
    var passed: Bool
    var detail: String
    var failureLine: String

    static func junit(_ cases: [CheckCase]) -> String {
        func esc(_ s: String) -> String {
            s.reduce(into: "") { r, c in
                switch c {
                case "&": r += "&amp;"
                case "<": r += "&lt;"
                case ">": r += "&gt;"
                case "\"": r += "&quot;"
                default: r.append(c)
                }
            }
        }
        var suites: [(String, [CheckCase])] = []
        for c in cases {
            if let i = suites.firstIndex(where: { $0.0 == c.suite }) { suites[i].1.append(c) } else { suites.append((c.suite, [c])) }
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"highwater check\" tests=\"\(cases.count)\" failures=\"\(cases.filter { !$0.passed }.count)\">\n"
        for (suite, list) in suites {
            xml += "  <testsuite name=\"\(esc(suite))\" tests=\"\(list.count)\" failures=\"\(list.filter { !$0.passed }.count)\">\n"
            for c in list {
                xml += "    <testcase classname=\"\(esc(suite))\" name=\"\(esc(c.name))\""
                xml += c.passed ? ">\n      <system-out>\(esc(c.detail))</system-out>\n    </testcase>\n"
                    : ">\n      <failure message=\"\(esc(c.detail))\">\(esc(c.failureLine))</failure>\n    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    static func markdown(_ cases: [CheckCase]) -> String {
        let failed = cases.filter { !$0.passed }
        var md = "## highwater check: " + (failed.isEmpty ? "all \(cases.count) hold ✅" : "\(failed.count) of \(cases.count) failed ❌") + "\n\n"
        md += "| | check | result |\n|---|---|---|\n"
        for c in failed + cases.filter(\.passed) {
            let cell = { (s: String) in s.replacingOccurrences(of: "|", with: "\\|") }
            md += "| \(c.passed ? "✅" : "❌") | \(cell(c.suite)): \(cell(c.name)) | \(cell(c.detail)) |\n"
        }
        return md
    }
}
