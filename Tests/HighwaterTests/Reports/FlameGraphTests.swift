@testable import HighwaterReports
import Testing

/// The report's icicle graph of folded stacks: widths are shares of the bytes, frames merge by path.
@Suite("Flame graph")
struct FlameGraphTests {
    static let folded = """
        main;serve;handle;leak 600
        main;serve;handle;parse 300
        main;serve;log 100
        main;tiny 0
        not a folded line
        """

    @Test("frames merge by their path and sum their bytes; lines without a count are skipped")
    func tree() {
        let graph = FlameGraph(title: "t", folded: Self.folded)
        #expect(graph.root.bytes == 1000)
        let serve = graph.root.children[0].children[0]
        #expect(serve.name == "serve" && serve.bytes == 1000)
        #expect(serve.children.map(\.name) == ["handle", "log"])
        #expect(serve.children[0].bytes == 900 && serve.children[0].children.map(\.bytes) == [600, 300])
    }

    @Test("each frame is as wide as its share of the bytes; frames too narrow to see are left out")
    func widths() {
        let svg = FlameGraph(title: "t", folded: Self.folded).svg(width: 1000, minWidth: 150)
        // leak: 60% of 1000 px; parse 30%; log 10% (100 px) is under the 150 px minimum.
        #expect(svg.contains("<title>leak: 600 B (60%)</title><rect x=\"0\" y=\"90\" width=\"599.5\""), "\(svg)")
        #expect(svg.contains("<title>parse: 300 B (30%)</title><rect x=\"600\""), "\(svg)")
        #expect(!svg.contains("<title>log:"))
        #expect(FlameGraph(title: "t", folded: "").isEmpty)
    }
}
