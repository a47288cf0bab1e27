/// Broken scenario files and the line each must be reported at; shared by the tests.
enum BrokenScenarioTable {
    static let valid = """
        name: t
        executor: {kind: eager, size: 4}
        workload: {name: alloc-churn}
        load: {requests: 100}

        """

    /// (what is wrong, file text, expected line of the first error)
    static let cases: [(String, String, Int)] = [
        ("unknown top-level key", valid + "sweeep: {executor.size: [1]}\n", 5),
        ("unknown executor key", "name: t\nexecutor: {kind: eager, sise: 4}\nworkload: {name: leak}\nload: {requests: 10}\n", 2),
        ("unknown executor kind", "name: t\nexecutor: {kind: eagr}\nworkload: {name: leak}\nload: {requests: 10}\n", 2),
        ("unknown workload", "name: t\nexecutor: {kind: eager}\nworkload: {name: leek}\nload: {requests: 10}\n", 3),
        ("unknown upload encoding", "name: t\nexecutor: {kind: fixed}\nworkload: {name: upload-spooled, options: {encoding: base64}}\nload: {requests: 10}\n", 3),
        ("negative size", "name: t\nexecutor: {kind: eager, size: -4}\nworkload: {name: leak}\nload: {requests: 10}\n", 2),
        ("zero size", "name: t\nexecutor: {kind: eager, size: 0}\nworkload: {name: leak}\nload: {requests: 10}\n", 2),
        ("size not a count", "name: t\nexecutor: {kind: eager, size: many}\nworkload: {name: leak}\nload: {requests: 10}\n", 2),
        ("concurrency 0", valid + "sweep: {load.concurrency: [0]}\n", 5),
        ("requests not a number", "name: t\nexecutor: {kind: eager}\nworkload: {name: leak}\nload: {requests: lots}\n", 4),
        ("requests zero", "name: t\nexecutor: {kind: eager}\nworkload: {name: leak}\nload: {requests: 0}\n", 4),
        ("warmup not below requests", "name: t\nexecutor: {kind: eager}\nworkload: {name: leak}\nload: {requests: 5, warmup: 5}\n", 4),
        ("negative tmpfs", valid + "storage: {tmpfs: -64 MiB}\n", 5),
        ("bad size unit", valid + "storage: {tmpfs: 64 MiBs}\n", 5),
        ("zero tmpfs", valid + "storage: {tmpfs: 0}\n", 5),
        ("bad duration", valid + "sample_interval: 10 parsecs\n", 5),
        ("sweep of an empty list", valid + "sweep: {executor.size: []}\n", 5),
        ("sweep of a scalar", valid + "sweep: {executor.size: 4}\n", 5),
        ("sweep not a mapping", valid + "sweep: [1, 2]\n", 5),
        ("sweep of an unknown path", valid + "sweep: {executor.sizes: [1, 2]}\n", 5),
        ("sweep with a bad value", valid + "sweep: {executor.size: [1, -2]}\n", 5),
        ("executor as a scalar", "name: t\nexecutor: eager\nworkload: {name: leak}\nload: {requests: 10}\n", 2),
        ("list where a value goes", "name: t\nexecutor: {kind: [eager, lazy]}\nworkload: {name: leak}\nload: {requests: 10}\n", 2),
        ("unknown workload option", "name: t\nexecutor: {kind: eager}\nworkload: {name: alloc-churn, options: {trimm: true}}\nload: {requests: 10}\n", 3),
        ("option of another workload", "name: t\nexecutor: {kind: eager}\nworkload: {name: leak, options: {trim: true}}\nload: {requests: 10}\n", 3),
        ("flag not a flag", "name: t\nexecutor: {kind: eager}\nworkload: {name: alloc-churn, options: {pin: maybe}}\nload: {requests: 10}\n", 3),
        ("YAML syntax: unclosed bracket", "name: t\nexecutor: {kind: eager\nworkload: {name: leak}\n", 3),
        ("YAML syntax: tab indentation", "name: t\nload:\n\trequests: 10\n", 3),
        ("duplicate key", "name: t\nexecutor: {kind: eager}\nexecutor: {kind: lazy}\nworkload: {name: leak}\nload: {requests: 10}\n", 3),
        ("not a mapping", "- just\n- a list\n", 1),
        ("empty file", "", 1),
        ("expectation without operator", valid + "expect: [rss_growth 8 MiB]\n", 5),
        ("expectation on unknown field", valid + "expect: [rss_grwth < 8 MiB]\n", 5),
        ("expectation with a time unit on a size", valid + "expect: [rss_growth < 8 ms]\n", 5),
        ("expectation with a unit on a count", valid + "expect: [\"threads_max <= 44 MiB\"]\n", 5),
        ("classification value unknown", valid + "expect: [growth.classification == plateu]\n", 5),
        ("classification ordered", valid + "expect: [growth.classification < plateau]\n", 5),
        ("where on an unknown config", valid + "expect: [{that: errors == 0, where: {config: eager-41}}]\n", 5),
        ("where on an unknown key", valid + "expect: [{that: errors == 0, where: {confg: x}}]\n", 5),
        ("expectation key typo", valid + "expect: [{tht: errors == 0}]\n", 5),
        ("upload without payload", "name: t\nexecutor: {kind: fixed}\nworkload: {name: upload-spooled}\nload: {requests: 10}\n", 3),
        ("missing executor", "name: t\nworkload: {name: leak}\nload: {requests: 10}\n", 1),
        ("empty variants", valid + "variants: []\n", 5),
        ("duplicate variant labels", valid + "variants: [{config: a}, {config: a}]\n", 5),
        ("temp_dir relative", valid + "storage: {temp_dir: tmp}\n", 5),
        ("rate negative", valid + "sweep: {load.rate: [-5]}\n", 5),
        ("bad scenario name", "name: a b/c\n" + valid.dropFirst(8), 1),
    ]
}
