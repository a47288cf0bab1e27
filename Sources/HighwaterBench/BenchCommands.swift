import ArgumentParser
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
import HighwaterReports
import HighwaterSynthetic
import HighwaterSystem

@main
struct HighwaterBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "highwater bench",
        abstract: "Measure Highwater's own costs; ratios come from one run, as the machine is shared.",
        discussion: """
            Built apart from the product: swift build -c release --product highwater-bench
            (or `make bench`); `highwater bench …` runs it when it sits beside `highwater`.
            """,
        subcommands: [SamplerBench.self, HostBench.self, ReportBench.self]
    )
}

struct SamplerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sampler",
        abstract: "The cost of one sample and the sampler's CPU share at a given rate (target: <= 20 µs, < 2% of a core at 1 kHz)."
    )

    @Option(help: "Samples to time one by one.")
    var iterations = 20_000

    @Option(help: "Sampling rate for the CPU-share measurement, in Hz.")
    var rate = 1000.0

    @Option(help: "How long to sample for the CPU-share measurement, in seconds.")
    var seconds = 5.0

    func run() throws {
        let r = try SamplerBenchmark.run(iterations: iterations, rateHz: rate, seconds: seconds, scratch: "/tmp")
        print("one sample (statm + status + task count): \(Quantity.formatDuration(nanoseconds: r.minimalSampleNs)) median")
        print("one timeline record (status + stat + fds + mallinfo2): \(Quantity.formatDuration(nanoseconds: r.fullSampleNs)) median")
        print("sampler at \(Int(r.rate)) Hz: \(Quantity.format(r.cpuShare * 100, significant: 3))% of one core "
              + "(\(r.samplesTaken) samples in \(Int(seconds)) s, \(r.lateSamples) late); "
              + "a thread that only wakes at that rate: \(Quantity.format(r.wakeupFloorShare * 100, significant: 3))%")
    }
}

extension SamplerBenchmark.Result {
    var rate: Double { rateHz }
}

struct HostBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "Host throughput on a trivial handler with per-request recording on and off (target ratio >= 0.97), and wrk for scale."
    )

    @Option(help: "Requests per round.")
    var requests = 20_000

    @Option(help: "Concurrent connections.")
    var concurrency = 16

    @Option(help: "Rounds of each (recording on, off), alternating.")
    var rounds = 3

    func run() async throws {
        Interruption.install()
        let r = try await HostBenchmark.run(executable: HighwaterBench.highwater, scratch: "/tmp/highwater-bench-host",
                                            requests: requests, concurrency: concurrency, rounds: rounds)
        let on = r.recordedRps.map { Quantity.format($0) }.joined(separator: ", ")
        let off = r.unrecordedRps.map { Quantity.format($0) }.joined(separator: ", ")
        print("recording on:  \(on) req/s")
        print("recording off: \(off) req/s")
        print("ratio (median on / median off): \(Quantity.format(r.ratio, significant: 3))")
        if let wrk = r.wrkRps { print("wrk against the host: \(Quantity.format(wrk)) req/s (\(r.wrkNote))") } else { print(r.wrkNote) }
    }
}

struct ReportBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render time and size of the report of a synthetic results directory (target: 1,000,000 requests in < 10 s, HTML < 5 MiB)."
    )

    @Option(help: "Requests in the synthetic results.")
    var requests = 1_000_000

    @Option(help: "Where to write the synthetic results.")
    var out = "/tmp/highwater-bench-report"

    func run() throws {
        let r = try ReportBenchmark.run(requests: requests, directory: out)
        print(r.description)
    }
}

extension HighwaterBench {
    /// The `highwater` executable built beside this one: the host benchmark starts it as the hosted child.
    static var highwater: String {
        let me = Executable.current
        return String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/highwater"
    }
}
