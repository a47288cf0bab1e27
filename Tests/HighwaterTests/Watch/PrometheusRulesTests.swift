import Testing

/// The alert rules shipped in prometheus/: promtool accepts them, and its rule tests (synthetic series in
/// prometheus/highwater-alerts.test.yml) see each alert fire where it should and stay quiet on flat series.
@Suite("Prometheus rules", .enabled(if: TestSupport.which("promtool") != nil, "promtool is not installed (scripts/install-deps prometheus)"))
struct PrometheusRulesTests {
    static var folder: String {
        let file = #filePath
        // Tests/HighwaterTests/Watch/ -> the checkout.
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/") + "/prometheus"
    }

    @Test("promtool check rules passes on the shipped alert rules")
    func rulesCheck() async {
        let result = await TestSupport.run([TestSupport.which("promtool")!, "check", "rules", Self.folder + "/highwater-alerts.yml"])
        #expect(result.termination == .exited(0), "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS: 5 rules found"))
    }

    @Test("promtool test rules: the arena, live-heap, temp-dir and limit alerts fire on synthetic series and stay quiet on flat ones")
    func rulesFire() async {
        let result = await TestSupport.run([TestSupport.which("promtool")!, "test", "rules", Self.folder + "/highwater-alerts.test.yml"])
        #expect(result.termination == .exited(0), "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS"))
    }

    @Test("promtool check config accepts the shipped scrape config")
    func configCheck() async {
        let result = await TestSupport.run([TestSupport.which("promtool")!, "check", "config", Self.folder + "/prometheus.yml"])
        #expect(result.termination == .exited(0), "\(result.stdout)\(result.stderr)")
    }
}
