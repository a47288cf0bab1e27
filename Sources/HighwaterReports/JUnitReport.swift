/// The expectations as JUnit XML, which CI systems show as tests: a suite per scenario, a test case
/// per expectation; a run without expectations is one passing case "completed".
public enum JUnitReport {
    public static func render(_ model: ReportModel) -> String {
        var cases = 0, failures = 0
        var suites = ""
        for scenario in model.scenarios {
            var body = "", suiteCases = 0, suiteFailures = 0
            for run in scenario.runs {
                let s = run.summary
                let classname = Markup.escape("\(s.scenario).\(s.config)")
                let seconds = run.facts.durationSeconds
                if s.expectations.isEmpty {
                    body += "    <testcase classname=\"\(classname)\" name=\"completed\" time=\"\(SVG.n(seconds))\">"
                    body += "<system-out>\(Markup.escape(run.diagnosis.finding))</system-out></testcase>\n"
                    suiteCases += 1
                    continue
                }
                for e in s.expectations {
                    suiteCases += 1
                    body += "    <testcase classname=\"\(classname)\" name=\"\(Markup.escape(e.text))\" time=\"0\">"
                    if !e.passed {
                        suiteFailures += 1
                        body += "<failure message=\"\(Markup.escape("observed: " + e.observed))\" type=\"expectation\">\(Markup.escape(e.text + " — observed " + e.observed + ". " + run.diagnosis.finding))</failure>"
                    } else {
                        body += "<system-out>\(Markup.escape("observed: " + e.observed))</system-out>"
                    }
                    body += "</testcase>\n"
                }
            }
            cases += suiteCases; failures += suiteFailures
            suites += "  <testsuite name=\"\(Markup.escape(scenario.name))\" tests=\"\(suiteCases)\" failures=\"\(suiteFailures)\" errors=\"0\" skipped=\"0\">\n"
            suites += body + "  </testsuite>\n"
        }
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"highwater\" tests=\"\(cases)\" failures=\"\(failures)\" errors=\"0\">\n"
            + suites + "</testsuites>\n"
    }
}
