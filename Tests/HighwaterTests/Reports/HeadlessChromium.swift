@preconcurrency import Glibc
import FoundationEssentials
import HighwaterSystem
import Testing

/// Debian's `chromium` opening a report the way a person would: a screenshot, the console it printed,
/// and the DOM it parsed.
enum HeadlessChromium {
    static var isInstalled: Bool { TestSupport.which("chromium") != nil }

    struct Visit {
        var screenshotWritten: Bool
        var dom: String
        /// What the page printed to its console; a page without script prints nothing unless something failed.
        var consoleLines: [Substring]
        var log: String
    }

    /// Screenshots `page` into `screenshot` at 1280x2000 and dumps its DOM; `profile` is a scratch directory.
    static func visit(_ page: String, screenshot: String, profile: String) async -> Visit {
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0",
                      "--window-size=1280,2000", "--force-device-scale-factor=1", "--user-data-dir=\(profile)"]
        _ = unlink(screenshot)
        let shot = await TestSupport.run(["chromium"] + common + ["--screenshot=\(screenshot)", "file://\(page)"])
        let dom = await TestSupport.run(["chromium"] + common + ["--dump-dom", "file://\(page)"])
        let log = shot.stderr + dom.stderr
        return Visit(screenshotWritten: ((try? FileTree.size(screenshot)) ?? 0) > 0, dom: dom.stdout,
                     consoleLines: log.split(separator: "\n").filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") }, log: log)
    }

    /// What a PNG shows: its size, the distinct colours of every 4th pixel, and the share of the commonest
    /// one. Decoded by python3 with zlib (no imaging library needed), undoing each row's filter.
    struct Picture { var width: Int; var height: Int; var colours: Int; var backgroundShare: Double }

    static let decoder = """
        import struct, sys, zlib
        from collections import Counter
        data = open(sys.argv[1], "rb").read()
        assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "not a PNG"
        pos, idat, header = 8, [], None
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            if kind == b"IHDR": header = struct.unpack(">IIBBBBB", body)
            elif kind == b"IDAT": idat.append(body)
            pos += 12 + length
        width, height, depth, colour, _, _, interlace = header
        assert depth == 8 and interlace == 0 and colour in (2, 6), header
        bpp = 3 if colour == 2 else 4
        raw = zlib.decompress(b"".join(idat))
        stride = width * bpp
        prev = bytearray(stride)
        counts = Counter()
        for y in range(height):
            f = raw[y * (stride + 1)]
            line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            if f == 1:
                for i in range(bpp, stride): line[i] = (line[i] + line[i - bpp]) & 255
            elif f == 2:
                for i in range(stride): line[i] = (line[i] + prev[i]) & 255
            elif f == 3:
                for i in range(stride): line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
            elif f == 4:
                for i in range(stride):
                    a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
                    p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            counts.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp * 4))
            prev = line
        print(width, height, len(counts), counts.most_common(1)[0][1] / sum(counts.values()))
        """

    static func inspect(png path: String) async throws -> Picture {
        let r = await TestSupport.run(["python3", "-c", decoder, path])
        try #require(r.termination == .exited(0), "cannot decode \(path): \(r.stderr)")
        let f = r.stdout.split(separator: " ").map { String($0).filter { !$0.isWhitespace } }
        try #require(f.count == 4, "decoder said: \(r.stdout)")
        return Picture(width: Int(f[0]) ?? 0, height: Int(f[1]) ?? 0, colours: Int(f[2]) ?? 0, backgroundShare: Double(f[3]) ?? 1)
    }

    /// What a page showed a person at 1280x900, measured from a page beside it that frames it (Chromium lets one file
    /// page read another with --allow-file-access-from-files): where the findings begin, their text, the overlay charts
    /// per scenario, and a flame graph's frame `frame` before and after a real click, and what searching for it found.
    struct Probe: Decodable {
        var findingsTop: Double?
        var viewport: Double?
        var findings: String?
        var overlays: [String: Int]?
        var widthBefore: Double?
        var widthAfter: Double?
        var svgWidth: Double?
        var zoomed: String?
        var hidden: Int?
        var matches: Int?
        var found: String?
        var matchedBytes: Double?
        var error: String?
    }

    static func interact(_ page: String, frame: String, profile: String) async throws -> Probe {
        let folder = FileTree.directory(of: page)
        let probe = folder + "/chromium-probe.html"
        let html = """
            <!DOCTYPE html><html><body><iframe id="f" src="\(page.split(separator: "/").last.map(String.init) ?? page)" style="width:1280px;height:900px;border:0"></iframe><pre id="out">not loaded</pre>
            <script>
            var f=document.getElementById('f');
            f.onload=function(){
              var d=f.contentDocument,w=f.contentWindow,out={};
              try{
                var fi=d.getElementById('findings');
                out.findingsTop=fi.getBoundingClientRect().top;out.viewport=w.innerHeight;out.findings=fi.textContent;
                out.overlays={};d.querySelectorAll('section.scenario').forEach(function(s){out.overlays[s.id]=s.querySelectorAll('svg.overlay').length;});
                var g=Array.prototype.filter.call(d.querySelectorAll('svg.flame g.f'),function(g){return g.querySelector('title').textContent.indexOf('\(frame): ')==0;})
                  .sort(function(a,b){return a.querySelector('rect').getAttribute('width')-b.querySelector('rect').getAttribute('width');})[0];
                if(g){
                  var box=g.closest('div.flamegraph'),r=g.querySelector('rect'),svg=box.querySelector('svg.flame');
                  out.widthBefore=+r.getAttribute('width');out.svgWidth=+svg.getAttribute('width');
                  g.dispatchEvent(new w.MouseEvent('click',{bubbles:true}));
                  out.widthAfter=+r.getAttribute('width');out.zoomed=svg.getAttribute('data-zoomed');
                  out.hidden=Array.prototype.filter.call(svg.querySelectorAll('g.f'),function(x){return x.style.display=='none';}).length;
                  var input=box.querySelector('.flame-search');input.value='\(frame)';input.dispatchEvent(new w.Event('input'));
                  out.matches=box.querySelectorAll('g.f.match').length;out.found=box.querySelector('.flame-found').textContent;
                  out.matchedBytes=+svg.getAttribute('data-matched-bytes');
                }
              }catch(e){out.error=String(e);}
              document.getElementById('out').textContent=JSON.stringify(out);
            };
            </script></body></html>
            """
        try FileTree.writeAtomically(Array(html.utf8), to: probe)
        defer { _ = unlink(probe) }
        let r = await TestSupport.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--allow-file-access-from-files",
                                       "--window-size=1400,1000", "--user-data-dir=\(profile)", "--dump-dom", "file://\(probe)"])
        let dom = r.stdout
        guard let start = dom.range(of: "<pre id=\"out\">"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
            Issue.record("chromium dumped no probe: \(r.stderr.suffix(2000))"); return Probe()
        }
        let text = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
        do { return try JSONDecoder().decode(Probe.self, from: Data(text.utf8)) } catch {
            Issue.record("the probe said: \(text)"); return Probe()
        }
    }

    /// The checks every report page must pass in the browser: a screenshot of the full window that is not
    /// blank, nothing on the console, and a DOM that holds `text`.
    static func expectRendered(_ page: String, screenshot: String, profile: String, showing text: String) async throws {
        let visit = await visit(page, screenshot: screenshot, profile: profile)
        try #require(visit.screenshotWritten, "no screenshot at \(screenshot); chromium said: \(visit.log.suffix(2000))")
        #expect(visit.consoleLines.isEmpty, "the page reported errors: \(visit.consoleLines)")
        #expect(visit.dom.contains("</html>"), "chromium dumped no DOM: \(visit.log.suffix(2000))")
        #expect(visit.dom.contains(text), "the DOM lacks “\(text)”")
        if TestSupport.which("python3") != nil {
            let picture = try await inspect(png: screenshot)
            #expect(picture.width == 1280 && picture.height == 2000)
            // A blank page is one colour; text alone is a few dozen; charts, badges and tables are hundreds.
            #expect(picture.colours >= 100, "only \(picture.colours) colours in \(screenshot)")
            #expect(picture.backgroundShare < 0.95, "\(Int(picture.backgroundShare * 100))% of \(screenshot) is one colour")
            print("screenshot \(screenshot): \(picture.width)x\(picture.height), \(picture.colours) colours, background \(Int(picture.backgroundShare * 100))%")
        } else {
            print("python3 is absent: the screenshot's pixels were not decoded, only its presence checked")
        }
    }
}
