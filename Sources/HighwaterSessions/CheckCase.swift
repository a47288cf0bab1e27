import FoundationEssentials

/// One expectation or limit as CI sees it: a JUnit test case and a Markdown row.
package struct CheckCase: Sendable, Equatable {
    package var suite: String
    package var name: String
    package var passed: Bool
    package var detail: String
    package var failureLine: String

    package init(suite: String, name: String, passed: Bool, detail: String, failureLine: String) {
        self.suite = suite; self.name = name; self.passed = passed; self.detail = detail; self.failureLine = failureLine
    }

    package static func junit(_ cases: [CheckCase]) -> String {
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

    package static func markdown(_ cases: [CheckCase]) -> String {
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
