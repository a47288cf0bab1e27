import HighwaterRecords

/// Folded stacks (`outer;…;inner bytes`, as the run writes `retained.folded`) drawn as an icicle graph in inline
/// SVG: the outermost frame on top, each frame as wide as its share of the bytes, its full name and figures in a
/// tooltip. The page's script (`FlameGraphScript`) zooms into a frame on a click and highlights and sums the frames a
/// search matches. The same file opens in speedscope, inferno or flamegraph.pl; this is the view that needs none.
struct FlameGraph {
    final class Frame {
        let name: String
        var bytes: UInt64 = 0
        var children: [Frame] = []
        private var index: [String: Int] = [:]
        init(_ name: String) { self.name = name }

        func child(_ name: String) -> Frame {
            if let i = index[name] { return children[i] }
            let frame = Frame(name)
            index[name] = children.count
            children.append(frame)
            return frame
        }
    }

    let title: String
    let root: Frame

    /// Folded files larger than this are left to the tools made for them: the report stays small.
    static let maxFileBytes = 16 << 20

    /// Reads folded lines; a line without a count (or a count of 0) is skipped.
    init(title: String, folded text: String) {
        self.title = title
        root = Frame("all")
        for line in text.split(separator: "\n") {
            guard let space = line.lastIndex(of: " "), let bytes = UInt64(line[line.index(after: space)...]), bytes > 0 else { continue }
            root.bytes += bytes
            var frame = root
            for name in line[..<space].split(separator: ";") {
                frame = frame.child(String(name))
                frame.bytes += bytes
            }
        }
    }

    var isEmpty: Bool { root.bytes == 0 }

    /// Frames narrower than `minWidth` pixels are left out (their bytes still count in their parent), and at most
    /// `maxFrames` are drawn, widest first by construction: a profile of every allocation stays a few hundred KiB.
    func svg(width: Double = 960, rowHeight: Double = 17, minWidth: Double = 1.5, maxFrames: Int = 1500) -> String {
        guard !isEmpty else { return "" }
        var rects = ""
        var drawn = 0
        var depth = 0
        func draw(_ frame: Frame, x: Double, w: Double, level: Int) {
            guard w >= minWidth, drawn < maxFrames else { return }
            drawn += 1
            depth = max(depth, level)
            let y = 22 + Double(level) * rowHeight
            let share = Double(frame.bytes) / Double(root.bytes) * 100
            let tip = "\(frame.name): \(Quantity.formatBytes(Double(frame.bytes))) (\(Quantity.format(share, significant: 3))%)"
            rects += "<g class=\"f\" data-d=\"\(level)\" data-b=\"\(frame.bytes)\"><title>\(Markup.escape(tip))</title><rect x=\"\(SVG.n(x))\" y=\"\(SVG.n(y))\" width=\"\(SVG.n(max(w - 0.5, 0.5)))\" "
                + "height=\"\(SVG.n(rowHeight - 1))\" fill=\"\(Self.color(frame.name))\" rx=\"1.5\"/>"
            // About 6.2 px a character at 11 px: a label only where it fits, cut with an ellipsis.
            let fits = Int((w - 6) / 6.2)
            if fits >= 3 {
                let label = frame.name.count <= fits ? frame.name : String(frame.name.prefix(fits - 1)) + "…"
                rects += "<text x=\"\(SVG.n(x + 3))\" y=\"\(SVG.n(y + rowHeight - 5))\" font-size=\"11\">\(Markup.escape(label))</text>"
            }
            rects += "</g>"
            var cx = x
            for child in frame.children.sorted(by: { $0.bytes > $1.bytes }) {
                let cw = w * Double(child.bytes) / Double(frame.bytes)
                draw(child, x: cx, w: cw, level: level + 1)
                cx += cw
            }
        }
        draw(root, x: 0, w: width, level: 0)
        let height = 22 + Double(depth + 1) * rowHeight + 4
        return "<div class=\"flamegraph\"><div class=\"flame-tools\"><input type=\"search\" class=\"flame-search\" placeholder=\"search frames, e.g. hw_leak\" "
            + "aria-label=\"search frames\"> <span class=\"flame-found\"></span> <span class=\"meta\">click a frame to zoom into it, the top one to zoom out</span></div>"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flame\" viewBox=\"0 0 \(SVG.n(width)) \(SVG.n(height))\" "
            + "width=\"\(SVG.n(width))\" height=\"\(SVG.n(height))\" font-family=\"sans-serif\">"
            + "<text x=\"0\" y=\"14\" font-size=\"13\" font-weight=\"bold\">\(Markup.escape(title)) — "
            + "\(Quantity.formatBytes(Double(root.bytes))) (outermost frame on top; hover a frame for its full name and bytes)</text>"
            + rects + "</svg></div>"
    }

    /// Warm colours, the same for a name wherever it appears, so a function reads as one colour down the graph.
    static func color(_ name: String) -> String {
        var h: UInt32 = 2166136261
        for b in name.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        let r = 205 + Int(h % 50), g = 80 + Int((h >> 8) % 120), b = 40 + Int((h >> 16) % 50)
        return "rgb(\(r),\(g),\(b))"
    }
}
