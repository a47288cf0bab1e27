import HighwaterRecords

/// Pass or fail by size: a row per workload, a marker per run at its file size, and vertical lines at the
/// predicted boundary, so where the spooled upload starts failing is read against where it should.
package struct BoundaryChart: Sendable {
    package struct Row: Sendable {
        package var label: String
        package var points: [(x: Double, passed: Bool, title: String)]
        package init(label: String, points: [(x: Double, passed: Bool, title: String)]) { self.label = label; self.points = points }
    }

    package var title: String
    package var x: ChartAxis
    package var rows: [Row]
    package var markers: [ChartMarker]
    package var width = 900.0
    static let passColor = "#2e7d32", failColor = "#c62828"

    package init(title: String, x: ChartAxis, rows: [Row], markers: [ChartMarker] = []) {
        self.title = title; self.x = x; self.rows = rows; self.markers = markers
    }

    package func svg() -> String {
        let padL = 130.0, padR = 24.0, padT = 34.0, rowH = 40.0, padB = 70.0
        let plotW = width - padL - padR, plotH = Double(max(rows.count, 1)) * rowH
        let height = padT + plotH + padB
        let high = max((rows.flatMap { $0.points.map(\.x) } + markers.map(\.value)).max() ?? 1, 1)
        let ticks = x.unit.ticks(low: 0, high: high, target: 8)
        let top = ticks.last ?? high
        func px(_ v: Double) -> Double { padL + v / top * plotW }

        var out = SVG.open(width: width, height: height, title: title)
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
        out += SVG.text(padL, 20, title, size: 14, weight: "bold")
        for t in ticks {
            let xx = px(t)
            out += SVG.line(xx, padT, xx, padT + plotH, "stroke=\"#e4e4e4\"")
            out += SVG.text(xx, padT + plotH + 18, x.unit.label(t), anchor: "middle", size: 10)
        }
        out += SVG.axes(x: padL, y: padT, width: plotW, height: plotH)
        out += SVG.text(padL + plotW / 2, padT + plotH + 36, x.title, anchor: "middle", size: 11)
        for (k, row) in rows.enumerated() {
            let y = padT + (Double(k) + 0.5) * rowH
            out += SVG.text(padL - 8, y + 4, row.label, anchor: "end", size: 11)
            out += SVG.line(padL, y, padL + plotW, y, "stroke=\"#f0f0f0\"")
            for p in row.points {
                out += Self.mark(px(p.x), y, passed: p.passed, title: p.title)
            }
        }
        for m in markers where m.orientation == .vertical {
            let xx = px(m.value)
            out += SVG.line(xx, padT - 4, xx, padT + plotH, "class=\"boundary\" stroke=\"\(m.color)\" stroke-dasharray=\"4 3\"")
            let anchor = xx > padL + plotW * 0.7 ? "end" : "start"
            out += SVG.text(xx + (anchor == "end" ? -4 : 4), padT + 6, m.label, anchor: anchor, size: 10, color: m.color)
        }
        // The legend shows the same marks the rows use.
        let ly = height - 14
        out += "<g class=\"legend\">" + Self.mark(padL + 6, ly - 4, passed: true, title: "passed") + SVG.text(padL + 16, ly, "passed", size: 11)
        out += Self.mark(padL + 86, ly - 4, passed: false, title: "failed") + SVG.text(padL + 96, ly, "failed", size: 11)
        if let first = markers.first {
            out += SVG.line(padL + 160, ly - 4, padL + 182, ly - 4, "stroke=\"\(first.color)\" stroke-dasharray=\"4 3\" stroke-width=\"2\"")
            out += SVG.text(padL + 187, ly, "predicted boundary", size: 11)
        }
        return out + "</g></svg>"
    }

    /// A filled circle for a pass, a cross for a failure: told apart without colour too.
    static func mark(_ x: Double, _ y: Double, passed: Bool, title: String) -> String {
        if passed {
            return "<circle cx=\"\(SVG.n(x))\" cy=\"\(SVG.n(y))\" r=\"5\" fill=\"\(passColor)\" fill-opacity=\"0.8\"><title>\(Markup.escape(title))</title></circle>"
        }
        let d = 5.0
        return "<path d=\"M\(SVG.n(x - d)) \(SVG.n(y - d))L\(SVG.n(x + d)) \(SVG.n(y + d))M\(SVG.n(x - d)) \(SVG.n(y + d))L\(SVG.n(x + d)) \(SVG.n(y - d))\" stroke=\"\(failColor)\" stroke-width=\"2.2\"><title>\(Markup.escape(title))</title></path>"
    }
}
