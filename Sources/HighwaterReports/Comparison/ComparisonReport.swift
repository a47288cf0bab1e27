import HighwaterRecords

/// `highwater diff`'s renderings of a `ResultsComparison`: a terminal table, Markdown and a self-contained page.
package enum ComparisonReport {
    /// The figures a table shows, memory first.
    static let figures = ResultsComparison.Figure.allCases

    static func cell(_ d: ResultsComparison.Delta?) -> String {
        guard let d else { return "—" }
        let mark = d.change == .better ? " better" : d.change == .worse ? " WORSE" : ""
        return "\(d.figure.text(d.before)) → \(d.figure.text(d.after)) \(d.ratioText)\(mark)"
    }

    static func headline(_ c: ResultsComparison) -> String {
        "\(c.configurations.count) configurations compared (\(c.before) → \(c.after), a change counts beyond the spread of repeats "
            + "and ±\(Quantity.format(c.tolerance * 100))%): \(c.better.count) better, \(c.worse.count) worse, "
            + "\(c.configurations.count - c.better.count - c.worse.count) unchanged"
    }

    static func changedFigures(_ conf: ResultsComparison.Configuration) -> String {
        let moved = conf.deltas.filter { $0.change != .unchanged }
        return moved.isEmpty ? "" : " (" + moved.map { "\($0.figure.rawValue) \($0.ratioText) \($0.change.rawValue)" }.joined(separator: ", ") + ")"
    }

    /// One line per configuration with what moved, then a table of every figure, then the sites that moved most.
    package static func terminal(_ c: ResultsComparison) -> String {
        var out = headline(c) + "\n"
        for conf in c.configurations {
            out += "  \(conf.change == .worse ? "WORSE    " : conf.change == .better ? "better   " : "unchanged") \(conf.name)\(changedFigures(conf))\n"
        }
        var rows = [["configuration"] + figures.map(\.rawValue)]
        for conf in c.configurations {
            rows.append([conf.name] + figures.map { f in
                guard let d = conf.deltas.first(where: { $0.figure == f }) else { return "—" }
                return "\(d.figure.text(d.after)) \(d.ratioText)" + (d.change == .better ? " +" : d.change == .worse ? " !" : "")
            })
        }
        out += "\nafter (ratio to before; + better, ! worse beyond the spread):\n" + table(rows)
        let sites = siteRows(c)
        if !sites.isEmpty {
            out += "\nallocation sites whose retained bytes changed most (go tool pprof -top -diff_base A/profile.pb.gz B/profile.pb.gz):\n"
                + table([siteHeader] + sites.prefix(10))
        }
        if !c.onlyBefore.isEmpty { out += "\nonly in \(c.before): " + ResultsComparison.list(c.onlyBefore) + "\n" }
        if !c.onlyAfter.isEmpty { out += "only in \(c.after): " + ResultsComparison.list(c.onlyAfter) + "\n" }
        return out
    }

    static let siteHeader = ["configuration", "site", "retained before", "after", "change"]

    /// Every configuration's sites that moved, the largest change first, as table cells.
    static func siteRows(_ c: ResultsComparison) -> [[String]] {
        c.configurations.flatMap { conf in conf.sites.map { (conf.name, $0) } }.sorted { abs($0.1.change) > abs($1.1.change) }.map { name, s in
            [name, s.site, Quantity.formatBytes(s.before), Quantity.formatBytes(s.after), signed(s.change)]
        }
    }

    static func signed(_ v: Int64) -> String { (v > 0 ? "+" : v < 0 ? "-" : "") + Quantity.formatBytes(v.magnitude) }

    /// Columns padded to their widest cell.
    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { k in rows.map { $0[k].count }.max() ?? 0 }
        return rows.map { row in
            var line = zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n") + "\n"
    }

    package static func markdown(_ c: ResultsComparison) -> String {
        var m = "# Highwater diff\n\n" + headline(c) + ".\n\n"
        m += "| configuration | change | " + figures.map(\.rawValue).joined(separator: " | ") + " |\n|---|---|" + String(repeating: "---|", count: figures.count) + "\n"
        for conf in c.configurations {
            m += "| \(MarkdownReport.cell(conf.name)) | \(icon(conf.change)) \(conf.change.rawValue) | "
            m += figures.map { f in MarkdownReport.cell(cell(conf.deltas.first { $0.figure == f })) }.joined(separator: " | ") + " |\n"
        }
        let sites = siteRows(c)
        if !sites.isEmpty {
            m += "\n## Allocation sites whose retained bytes changed most\n\n| " + siteHeader.joined(separator: " | ") + " |\n|---|---|--:|--:|--:|\n"
            m += sites.map { "| " + $0.map(MarkdownReport.cell).joined(separator: " | ") + " |\n" }.joined()
        }
        if !c.onlyBefore.isEmpty { m += "\nOnly in `\(c.before)`: " + ResultsComparison.list(c.onlyBefore) + ".\n" }
        if !c.onlyAfter.isEmpty { m += "\nOnly in `\(c.after)`: " + ResultsComparison.list(c.onlyAfter) + ".\n" }
        return m
    }

    static func icon(_ change: ResultsComparison.Change) -> String {
        switch change {
        case .better: return "🟢"
        case .worse: return "🔴"
        case .unchanged: return "⚪"
        }
    }

    package static func html(_ c: ResultsComparison) -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Highwater diff</title><style>\(HTMLReport.css)"
        h += "td.better{background:#e3f4e4}td.worse{background:#fbe2e2}</style></head><body><h1>Highwater diff</h1>"
        h += "<p class=\"meta\">\(Markup.escape(headline(c))).</p><table><tr><th class=\"l\">configuration</th><th class=\"l\">change</th>"
        h += figures.map { "<th>\(Markup.escape($0.rawValue))</th>" }.joined() + "</tr>"
        for conf in c.configurations {
            h += "<tr><td class=\"l\">\(Markup.escape(conf.name))</td><td class=\"l \(conf.change.rawValue)\">\(conf.change.rawValue)</td>"
            for f in figures {
                let d = conf.deltas.first { $0.figure == f }
                let title = d.map { " title=\"the least change that counts: \(Markup.escape($0.figure.text($0.threshold)))\"" } ?? ""
                h += "<td class=\"\(d?.change.rawValue ?? "")\"\(title)>\(Markup.escape(cell(d)))</td>"
            }
            h += "</tr>"
        }
        h += "</table>"
        let sites = siteRows(c)
        if !sites.isEmpty {
            h += "<h2>Allocation sites whose retained bytes changed most</h2><table><tr>" + siteHeader.map { "<th>\(Markup.escape($0))</th>" }.joined() + "</tr>"
            h += sites.map { "<tr>" + $0.map { "<td class=\"l\">\(Markup.escape($0))</td>" }.joined() + "</tr>" }.joined() + "</table>"
        }
        return h + "</body></html>\n"
    }

    /// The configurations `check --baseline` fails, each naming the figure: "threadpool-growth/eager-40: steady RSS
    /// 27 MiB → 60.1 MiB (×2.23), beyond ±10% and the spread of repeats".
    package static func regressions(_ c: ResultsComparison) -> [(configuration: String, line: String)] {
        c.configurations.compactMap { conf in
            let worse = conf.deltas.filter { $0.figure.isMemory && $0.change == .worse }
            guard !worse.isEmpty else { return nil }
            return (conf.name, conf.name + ": " + worse.map { "\($0.figure.rawValue) \($0.figure.text($0.before)) → \($0.figure.text($0.after)) (\($0.ratioText))" }
                .joined(separator: ", ") + ", beyond ±\(Quantity.format(c.tolerance * 100))% and the spread of repeats")
        }
    }
}
