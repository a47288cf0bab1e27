import HighwaterRecords
import Testing

/// The `--load` grammar: what a user writes, and the clear refusals (non-loopback first).
struct LoadSpecTests {
    @Test func parsesEveryOption() throws {
        let s = try LoadSpec(parsing: "POST http://127.0.0.1:8000/upload?x=1 n=20 c=4 upload=1MiB..20MiB field=doc")
        #expect(s.method == "POST" && s.host == "127.0.0.1" && s.port == 8000 && s.path == "/upload?x=1")
        #expect(s.requests == 20 && s.concurrency == 4 && s.field == "doc")
        #expect(s.uploadBytes(request: 0) == 1 << 20 && s.uploadBytes(request: 19) == 20 << 20)
        #expect(s.label == "post-upload")
        let g = try LoadSpec(parsing: "http://localhost:9/work rate=50 body=4KiB")
        #expect(g.method == "POST" && g.host == "127.0.0.1" && g.rate == 50 && g.body == .generated(4096))
        let d = try LoadSpec(parsing: "http://[::1]:81")
        #expect(d.method == "GET" && d.host == "::1" && d.path == "/" && d.requests == LoadSpec.defaultRequests && d.url == "http://[::1]:81/")
        #expect(try LoadSpec(parsing: "PUT http://127.0.0.1:1/x body=@/tmp/f").body == .file("/tmp/f"))
    }

    @Test(arguments: [
        ("GET http://10.0.0.1:80/", "not this machine"),
        ("GET http://example.com/", "not this machine"),
        ("https://127.0.0.1/", "http:// URL"),
        ("GET http://127.0.0.1:8000/ c=2 rate=3", "both c= and rate="),
        ("GET http://127.0.0.1:8000/ body=1KiB upload=2KiB", "both body= and upload="),
        ("GET http://127.0.0.1:8000/ n=0", "request count"),
        ("GET http://127.0.0.1:8000/ upload=9MiB..1MiB", "must not exceed"),
        ("GET http://127.0.0.1:8000/ color=red", "unknown option"),
        ("get http://127.0.0.1:8000/", "METHOD in capitals"),
        ("GET http://127.0.0.1:99999/", "1 to 65535"),
    ])
    func refuses(_ text: String, _ reason: String) {
        do {
            _ = try LoadSpec(parsing: text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }
}
