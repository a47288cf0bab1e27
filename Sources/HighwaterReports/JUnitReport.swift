/// The expectations as JUnit XML, which CI systems show as tests: a suite per scenario, a test case
/// per expectation; a run without expectations is one passing case "completed". A run that did not happen or
/// whose child crashed is an `<error>` (its expectations fail as well: there is no data to hold them). A run's wall time
/// goes on its first case (its other expectations were judged on the same run, at no cost of their own), so a suite's
/// time is what its runs took.
package enum JUnitReport {
    package static func render(_ model: ReportModel) -> String {
        var cases = 0, failures = 0, errors = 0
        var suites = ""
        for scenario in model.scenarios {
            var body = "", suiteCases = 0, suiteFailures = 0, suiteErrors = 0
            for run in scenario.runs {
                let s = run.summary
                let classname = Markup.escape("\(s.scenario).\(s.config)")
                let seconds = run.facts.durationSeconds
                if !s.growth.classification.hasData {
                    suiteCases += 1; suiteErrors += 1
                    let why = run.diagnosis.verdict + ": " + run.diagnosis.finding
                    body += "    <testcase classname=\"\(classname)\" name=\"run\" time=\"\(Self.seconds(seconds))\">"
                    body += "<error message=\"\(Markup.escape(run.diagnosis.verdict))\" type=\"\(s.growth.classification.rawValue)\">\(Markup.escape(why + (s.stderr_tail.map { "\n" + $0 } ?? "")))</error></testcase>\n"
                }
                if s.expectations.isEmpty && s.growth.classification.hasData {
                    body += "    <testcase classname=\"\(classname)\" name=\"completed\" time=\"\(Self.seconds(seconds))\">"
                    body += "<system-out>\(Markup.escape(run.diagnosis.finding))</system-out></testcase>\n"
                    suiteCases += 1
                    continue
                }
                for (k, e) in s.expectations.enumerated() {
                    suiteCases += 1
                    let time = k == 0 && s.growth.classification.hasData ? seconds : 0
                    body += "    <testcase classname=\"\(classname)\" name=\"\(Markup.escape(e.text))\" time=\"\(Self.seconds(time))\">"
                    if !e.passed {
                        suiteFailures += 1
                        body += "<failure message=\"\(Markup.escape("observed: " + e.observed))\" type=\"expectation\">\(Markup.escape(e.text + " — observed " + e.observed + ". " + run.diagnosis.finding))</failure>"
                    } else {
                        body += "<system-out>\(Markup.escape("observed: " + e.observed))</system-out>"
                    }
                    body += "</testcase>\n"
                }
            }
            cases += suiteCases; failures += suiteFailures; errors += suiteErrors
            let suiteSeconds = scenario.runs.reduce(0) { $0 + $1.facts.durationSeconds }
            suites += "  <testsuite name=\"\(Markup.escape(scenario.name))\" tests=\"\(suiteCases)\" failures=\"\(suiteFailures)\" errors=\"\(suiteErrors)\" skipped=\"0\" time=\"\(Self.seconds(suiteSeconds))\">\n"
            suites += body + "  </testsuite>\n"
        }
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"highwater\" tests=\"\(cases)\" failures=\"\(failures)\" errors=\"\(errors)\">\n"
            + suites + "</testsuites>\n"
    }

    /// Seconds with millisecond precision, as JUnit readers expect (`12.345`).
    static func seconds(_ v: Double) -> String {
        let ms = Int64((max(v, 0) * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
