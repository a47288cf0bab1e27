import HighwaterRecords

/// How an axis labels its values.
package enum AxisUnit: Sendable {
    case bytes, count, seconds, milliseconds, plain

    func label(_ v: Double) -> String {
        switch self {
        case .bytes: return Quantity.formatBytes(v)
        case .count: return v == v.rounded() ? String(Int64(v)) : Quantity.format(v)
        case .seconds: return Quantity.format(v) + " s"
        case .milliseconds: return Quantity.format(v) + " ms"
        case .plain: return Quantity.format(v)
        }
    }

    /// Tick values from 0 (or `low`) to at least `high`, about `target` of them, at round numbers
    /// (in binary units for bytes, so the labels read 64 MiB, 128 MiB).
    func ticks(low: Double, high: Double, target: Int = 5) -> [Double] {
        let span = max(high - low, 1e-9)
        var scale = 1.0
        if self == .bytes { while span / scale >= 1024 * Double(target) / 4 && scale < 1_099_511_627_776 { scale *= 1024 } }
        let raw = span / scale / Double(target)
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        let steps: [Double] = self == .bytes && scale > 1 ? [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] : [1, 2, 2.5, 5, 10]
        var step = magnitude
        for s in steps where magnitude * s >= raw { step = magnitude * s; break }
        if self == .count { step = max(step.rounded(.up), 1) }
        step *= scale
        let first = (low / step).rounded(.down) * step
        var out: [Double] = []
        var v = first
        while v < high + step * 0.999 && out.count < 40 { out.append(v); v += step }
        return out
    }
}

package struct ChartAxis: Sendable {
    package var title: String
    package var unit: AxisUnit
    package init(_ title: String, _ unit: AxisUnit) { self.title = title; self.unit = unit }
}

package struct ChartSeries: Sendable {
    package enum Side: Sendable { case left, right }
    package var name: String
    package var color: String
    package var points: [ChartPoint]
    package var side: Side
    /// Draw as steps (thread and arena counts change in jumps).
    package var stepped: Bool
    package var dashed: Bool
    package init(_ name: String, color: String, points: [ChartPoint], side: Side = .left, stepped: Bool = false, dashed: Bool = false) {
        self.name = name; self.color = color; self.points = points; self.side = side; self.stepped = stepped; self.dashed = dashed
    }
}

/// A vertical marker (the plateau point) or a horizontal one (a capacity).
package struct ChartMarker: Sendable {
    package enum Orientation: Sendable { case vertical, horizontal }
    package var orientation: Orientation
    package var value: Double
    package var label: String
    package var color: String
    package init(_ orientation: Orientation, at value: Double, label: String, color: String = "#b03030") {
        self.orientation = orientation; self.value = value; self.label = label; self.color = color
    }
}

/// SVG drawing shared by the charts: numbers with one decimal, escaped text.
enum SVG {
    static func n(_ v: Double) -> String {
        let t = (v * 10).rounded()
        guard t.isFinite else { return "0" }
        let i = Int64(t)
        let whole = i / 10, frac = abs(i % 10)
        if frac == 0 { return String(whole) }
        return (i < 0 && whole == 0 ? "-" : "") + String(whole) + "." + String(frac)
    }

    /// A coordinate in whole pixels.
    static func px(_ v: Double) -> String {
        let r = v.rounded()
        return r.isFinite ? String(Int64(r)) : "0"
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start", size: Int = 11, weight: String? = nil,
                     color: String = "#333", rotate: Bool = false) -> String {
        // The chart's own defaults (`open`: 11 px, #333, start) are left out: a page holds thousands of labels.
        var attrs = "x=\"\(n(x))\" y=\"\(n(y))\""
        if size != 11 { attrs += " font-size=\"\(size)\"" }
        if color != "#333" { attrs += " fill=\"\(color)\"" }
        if anchor != "start" { attrs += " text-anchor=\"\(anchor)\"" }
        if let weight { attrs += " font-weight=\"\(weight)\"" }
        if rotate { attrs += " transform=\"rotate(-90 \(n(x)) \(n(y)))\"" }
        return "<text \(attrs)>\(Markup.escape(s))</text>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ attributes: String) -> String {
        "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" \(attributes)/>"
    }

    /// The left and bottom axes of a plot area, and the right one when a second scale is drawn.
    static func axes(x: Double, y: Double, width: Double, height: Double, right: Bool = false) -> String {
        var out = "<g class=\"axes\" stroke=\"#555\">" + line(x, y, x, y + height, "") + line(x, y + height, x + width, y + height, "")
        if right { out += line(x + width, y, x + width, y + height, "") }
        return out + "</g>"
    }

    static func open(width: Double, height: Double, title: String, cssClass: String = "chart") -> String {
        "<svg class=\"\(cssClass)\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\" aria-label=\"\(Markup.escape(title))\" font-family=\"sans-serif\" font-size=\"11\" fill=\"#333\">"
            + "<title>\(Markup.escape(title))</title>"
    }
}

/// A line chart with a left axis and an optional right axis, a legend and markers.
package struct LineChart: Sendable {
    package var title: String
    package var x: ChartAxis
    package var left: ChartAxis
    package var right: ChartAxis?
    package var series: [ChartSeries]
    package var markers: [ChartMarker]
    package var width = 900.0
    package var height = 320.0
    /// `chart`, and `chart overlay` for a scenario's configurations on one chart.
    package var cssClass = "chart"

    package init(title: String, x: ChartAxis, left: ChartAxis, right: ChartAxis? = nil, series: [ChartSeries], markers: [ChartMarker] = []) {
        self.title = title; self.x = x; self.left = left; self.right = right; self.series = series; self.markers = markers
    }

    package func svg() -> String {
        let padL = 78.0, padR = right == nil ? 24.0 : 70.0, padT = 34.0, padB = 74.0
        let plotW = width - padL - padR, plotH = height - padT - padB
        // Many series wrap the legend onto more rows; the chart grows to hold them.
        let legendItems = series.map { ($0.name + ($0.side == .right && right != nil ? " (right axis)" : ""), $0.color, $0.dashed) }
        let legendRows = (legendLayout(legendItems.map(\.0), x: padL, maxX: width - padR).last?.row ?? 0) + 1
        let height = self.height + Double(legendRows - 1) * legendRowHeight
        let all = series.flatMap(\.points)
        let xMin = all.map(\.x).min() ?? 0, xMax0 = all.map(\.x).max() ?? 1
        let xMax = xMax0 > xMin ? xMax0 : xMin + 1
        func yMax(_ side: ChartSeries.Side) -> Double {
            var m = series.filter { $0.side == side }.flatMap(\.points).map(\.y).max() ?? 1
            for mk in markers where mk.orientation == .horizontal && side == .left { m = max(m, mk.value) }
            return max(m, side == .left && left.unit == .bytes ? 1024 : 1)
        }
        let lTicks = left.unit.ticks(low: 0, high: yMax(.left))
        let lTop = lTicks.last ?? 1
        let rTicks = right.map { $0.unit.ticks(low: 0, high: yMax(.right)) } ?? []
        let rTop = rTicks.last ?? 1
        let xTicks = x.unit.ticks(low: xMin, high: xMax, target: 8).filter { $0 >= xMin - 1e-9 && $0 <= xMax + 1e-9 }
        func px(_ v: Double) -> Double { padL + (v - xMin) / (xMax - xMin) * plotW }
        func py(_ v: Double, _ side: ChartSeries.Side) -> Double {
            padT + plotH - v / (side == .left ? lTop : rTop) * plotH
        }

        var out = SVG.open(width: width, height: height, title: title, cssClass: cssClass)
        out += "<rect x=\"0\" y=\"0\" width=\"\(SVG.n(width))\" height=\"\(SVG.n(height))\" fill=\"#fff\"/>"
        out += SVG.text(padL, 20, title, size: 14, weight: "bold")
        // Grid and tick labels.
        for t in lTicks {
            let y = py(t, .left)
            out += "<line x1=\"\(SVG.n(padL))\" y1=\"\(SVG.n(y))\" x2=\"\(SVG.n(padL + plotW))\" y2=\"\(SVG.n(y))\" stroke=\"#e4e4e4\"/>"
            out += SVG.text(padL - 6, y + 4, left.unit.label(t), anchor: "end", size: 10)
        }
        for t in rTicks {
            out += SVG.text(padL + plotW + 6, py(t, .right) + 4, right!.unit.label(t), size: 10)
        }
        for t in xTicks {
            let xx = px(t)
            out += "<line x1=\"\(SVG.n(xx))\" y1=\"\(SVG.n(padT + plotH))\" x2=\"\(SVG.n(xx))\" y2=\"\(SVG.n(padT + plotH + 5))\" stroke=\"#555\"/>"
            out += SVG.text(xx, padT + plotH + 18, x.unit.label(t), anchor: "middle", size: 10)
        }
        out += SVG.axes(x: padL, y: padT, width: plotW, height: plotH, right: right != nil)
        out += SVG.text(padL + plotW / 2, padT + plotH + 36, x.title, anchor: "middle", size: 11)
        out += SVG.text(16, padT + plotH / 2, left.title, anchor: "middle", size: 11, rotate: true)
        if let right { out += SVG.text(width - 10, padT + plotH / 2, right.title, anchor: "middle", size: 11, rotate: true) }
        // Series.
        for s in series where !s.points.isEmpty {
            var d = ""
            d.reserveCapacity(s.points.count * 14)
            var previousY: Double?
            // Whole pixels, and a line's points as bare pairs after its first: a page of 85 runs' charts stays small.
            for (k, p) in s.points.enumerated() {
                let xx = SVG.px(px(p.x)), yy = py(p.y, s.side).rounded()
                if k == 0 { d += "M\(xx) \(SVG.px(yy))" } else {
                    if s.stepped, let prev = previousY, prev != yy { d += "H\(xx)V\(SVG.px(yy))" } else { d += (s.stepped ? "L" : " ") + "\(xx) \(SVG.px(yy))" }
                }
                previousY = yy
            }
            let dash = s.dashed ? " stroke-dasharray=\"5 3\"" : ""
            out += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\"\(dash)><title>\(Markup.escape(s.name))</title></path>"
        }
        // Markers.
        for m in markers {
            switch m.orientation {
            case .vertical:
                let xx = px(m.value)
                out += "<line x1=\"\(SVG.n(xx))\" y1=\"\(SVG.n(padT))\" x2=\"\(SVG.n(xx))\" y2=\"\(SVG.n(padT + plotH))\" stroke=\"\(m.color)\" stroke-dasharray=\"4 3\"/>"
                let anchor = xx > padL + plotW * 0.7 ? "end" : "start"
                out += SVG.text(xx + (anchor == "end" ? -4 : 4), padT + 12, m.label, anchor: anchor, size: 10, color: m.color)
            case .horizontal:
                let yy = py(m.value, .left)
                out += "<line x1=\"\(SVG.n(padL))\" y1=\"\(SVG.n(yy))\" x2=\"\(SVG.n(padL + plotW))\" y2=\"\(SVG.n(yy))\" stroke=\"\(m.color)\" stroke-dasharray=\"6 3\"/>"
                out += SVG.text(padL + plotW - 4, yy - 4, m.label, anchor: "end", size: 10, color: m.color)
            }
        }
        out += legend(legendItems, x: padL, y: padT + plotH + padB - 14, maxX: width - padR)
        return out + "</svg>"
    }
}

/// Where each legend item goes: left to right, on a new row below when the next would pass `maxX`.
func legendLayout(_ names: [String], x: Double, maxX: Double) -> [(x: Double, row: Int)] {
    var cx = x, row = 0
    var out: [(x: Double, row: Int)] = []
    for name in names {
        let w = 40 + Double(name.count) * 6.2
        if cx > x, cx + w > maxX { cx = x; row += 1 }
        out.append((cx, row))
        cx += w
    }
    return out
}

let legendRowHeight = 16.0

func legend(_ items: [(String, String, Bool)], x: Double, y: Double, maxX: Double = .infinity) -> String {
    var out = "<g class=\"legend\">"
    for ((name, color, dashed), place) in zip(items, legendLayout(items.map(\.0), x: x, maxX: maxX)) {
        let dash = dashed ? " stroke-dasharray=\"5 3\"" : ""
        let cx = place.x, cy = y + Double(place.row) * legendRowHeight
        out += "<line x1=\"\(SVG.n(cx))\" y1=\"\(SVG.n(cy - 4))\" x2=\"\(SVG.n(cx + 22))\" y2=\"\(SVG.n(cy - 4))\" stroke=\"\(color)\" stroke-width=\"3\"\(dash)/>"
        out += SVG.text(cx + 27, cy, name, size: 11)
    }
    return out + "</g>"
}

/// Horizontal bars, one per configuration, for one metric: small multiples of these compare configurations.
package struct BarChart: Sendable {
    package var title: String
    package var unit: AxisUnit
    package var bars: [(label: String, value: Double, color: String)]
    package var width = 290.0

    package init(title: String, unit: AxisUnit, bars: [(label: String, value: Double, color: String)]) {
        self.title = title; self.unit = unit; self.bars = bars
    }

    package func svg() -> String {
        let rowH = 22.0, padT = 28.0, labelW = 110.0, padR = 70.0
        let height = padT + Double(bars.count) * rowH + 24
        let plotW = width - labelW - padR
        let low = min(0, bars.map(\.value).min() ?? 0)
        let high = max(bars.map(\.value).max() ?? 1, low + 1)
        func px(_ v: Double) -> Double { labelW + (v - low) / (high - low) * plotW }
        var out = SVG.open(width: width, height: height, title: title)
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
        out += SVG.text(4, 16, title, size: 12, weight: "bold")
        for (k, bar) in bars.enumerated() {
            let y = padT + Double(k) * rowH
            let x0 = px(0), x1 = px(bar.value)
            // Labels of one scenario share their start and differ at the end: keep the end.
            let label = bar.label.count > 18 ? "…" + bar.label.suffix(17) : bar.label
            out += SVG.text(labelW - 6, y + 14, label, anchor: "end", size: 10)
            out += "<rect x=\"\(SVG.n(min(x0, x1)))\" y=\"\(SVG.n(y + 3))\" width=\"\(SVG.n(max(abs(x1 - x0), 1)))\" height=\"\(SVG.n(rowH - 7))\" fill=\"\(bar.color)\"><title>\(Markup.escape(bar.label)): \(Markup.escape(unit.label(bar.value)))</title></rect>"
            out += SVG.text(max(x0, x1) + 4, y + 14, unit.label(bar.value), size: 10)
        }
        let axisY = padT + Double(bars.count) * rowH
        out += "<line class=\"axes\" x1=\"\(SVG.n(px(0)))\" y1=\"\(SVG.n(padT))\" x2=\"\(SVG.n(px(0)))\" y2=\"\(SVG.n(axisY))\" stroke=\"#555\"/>"
        out += "<line class=\"axes\" x1=\"\(SVG.n(labelW))\" y1=\"\(SVG.n(axisY))\" x2=\"\(SVG.n(labelW + plotW))\" y2=\"\(SVG.n(axisY))\" stroke=\"#555\"/>"
        out += SVG.text(labelW, axisY + 14, unit.label(low), size: 9)
        out += SVG.text(labelW + plotW, axisY + 14, unit.label(high), anchor: "end", size: 9)
        return out + "</svg>"
    }
}

/// Counts of values in bins, for two groups side by side, on a logarithmic count axis: the few
/// requests that were first on a new thread would vanish on a linear one.
package struct Histogram: Sendable {
    package var title: String
    package var x: ChartAxis
    package var edges: [Double]
    package var groups: [(name: String, color: String, counts: [Int])]
    package var width = 900.0
    package var height = 260.0
    /// Each bar's count and range on hover; left out on pages of many runs, where they would weigh most.
    package var barTitles = true

    package init(title: String, x: ChartAxis, values: [[Double]], names: [String], colors: [String], bins: Int = 40) {
        self.title = title; self.x = x
        let lo = values.flatMap { $0 }.min() ?? 0, hi0 = values.flatMap { $0 }.max() ?? 1
        let hi = hi0 > lo ? hi0 : lo + 1
        edges = (0...bins).map { lo + (hi - lo) * Double($0) / Double(bins) }
        var gs: [(name: String, color: String, counts: [Int])] = []
        for (k, vs) in values.enumerated() {
            var counts = [Int](repeating: 0, count: bins)
            for v in vs { counts[min(bins - 1, max(0, Int((v - lo) / (hi - lo) * Double(bins))))] += 1 }
            gs.append((names[k], colors[k], counts))
        }
        groups = gs
    }

    package func svg() -> String {
        let padL = 60.0, padR = 24.0, padT = 34.0, padB = 66.0
        let plotW = width - padL - padR, plotH = height - padT - padB
        let maxCount = groups.flatMap(\.counts).max() ?? 1
        let decades = max(1, Int(log10(Double(max(maxCount, 1)))) + 1)
        func py(_ c: Int) -> Double { padT + plotH - (c <= 0 ? 0 : (log10(Double(c)) + 1) / Double(decades + 1) * plotH) }
        let bins = edges.count - 1
        let binW = plotW / Double(max(bins, 1))
        var out = SVG.open(width: width, height: height, title: title)
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
        out += SVG.text(padL, 20, title, size: 14, weight: "bold")
        for d in 0...decades {
            let c = Int(pow10(d))
            let y = py(c)
            out += "<line x1=\"\(SVG.n(padL))\" y1=\"\(SVG.n(y))\" x2=\"\(SVG.n(padL + plotW))\" y2=\"\(SVG.n(y))\" stroke=\"#e4e4e4\"/>"
            out += SVG.text(padL - 6, y + 4, String(c), anchor: "end", size: 10)
        }
        let groupW = binW / Double(max(groups.count, 1))
        for (g, group) in groups.enumerated() {
            for (b, c) in group.counts.enumerated() where c > 0 {
                let bx = padL + Double(b) * binW + Double(g) * groupW
                let y = py(c)
                out += "<rect x=\"\(SVG.n(bx + 0.5))\" y=\"\(SVG.n(y))\" width=\"\(SVG.n(max(groupW - 1, 0.8)))\" height=\"\(SVG.n(padT + plotH - y))\" fill=\"\(group.color)\""
                out += barTitles ? "><title>\(Markup.escape(group.name)): \(c) in \(Markup.escape(x.unit.label(edges[b]))) … \(Markup.escape(x.unit.label(edges[b + 1])))</title></rect>" : "/>"
            }
        }
        out += SVG.axes(x: padL, y: padT, width: plotW, height: plotH)
        for k in stride(from: 0, through: bins, by: max(1, bins / 8)) {
            let xx = padL + Double(k) * binW
            out += "<line x1=\"\(SVG.n(xx))\" y1=\"\(SVG.n(padT + plotH))\" x2=\"\(SVG.n(xx))\" y2=\"\(SVG.n(padT + plotH + 5))\" stroke=\"#555\"/>"
            out += SVG.text(xx, padT + plotH + 18, x.unit.label(edges[k]), anchor: "middle", size: 10)
        }
        out += SVG.text(padL + plotW / 2, padT + plotH + 34, x.title, anchor: "middle", size: 11)
        out += SVG.text(14, padT + plotH / 2, "requests (log scale)", anchor: "middle", size: 11, rotate: true)
        out += legend(groups.map { ($0.name, $0.color, false) }, x: padL, y: height - 10)
        return out + "</svg>"
    }

    private func log10(_ v: Double) -> Double {
        var e = 0.0, x = v
        while x >= 10 { x /= 10; e += 1 }
        // Linear within a decade is close enough for bar heights and needs no libm.
        return e + (x - 1) / 9
    }

    private func pow10(_ d: Int) -> Double { (0..<d).reduce(1.0) { r, _ in r * 10 } }
}

/// Escaping for HTML, SVG and XML text and attributes.
enum Markup {
    static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 38 || $0 == 60 || $0 == 62 || $0 == 34 || $0 == 39 }) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
