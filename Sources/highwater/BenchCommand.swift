import ArgumentParser
import HighwaterAnalysis
import HighwaterProbes

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Highwater's own costs; ratios come from one run, as the machine is shared.",
        subcommands: [SamplerBench.self]
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
