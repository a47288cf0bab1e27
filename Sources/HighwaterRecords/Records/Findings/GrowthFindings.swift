/// What the samples and requests showed, said plainly beside the figures.
extension Finding {
    package static let noSample = Finding(.noSample, "no sample was taken")
    package static let noRequest = Finding(.noRequest, "no request reached a handler")

    package static func plateauBegan(afterSeconds seconds: Double) -> Finding {
        Finding(.plateauBegan, "the plateau began \(Quantity.format(seconds)) s after sampling started")
    }

    /// RSS over the counted samples, after the warm-up.
    package static func rssMoved(_ growth: Double, seconds: Double, warmupSeconds: Double) -> Finding {
        Finding(.rssMoved, "RSS moved \(Quantity.formatBytes(growth)) over \(Quantity.format(seconds)) s after a warm-up of \(Quantity.format(warmupSeconds)) s (\(Quantity.formatBytes(growth / seconds)) a second)")
    }

    /// A sendfile or accel run against the chunked run of the same file size and concurrency.
    package static func againstChunked(_ config: String, throughput: Double, cpu: Double) -> Finding {
        Finding(.againstChunked, "Against \(config): \(Quantity.format(throughput))x the bytes per second, \(Quantity.format(cpu))x the CPU per GiB.")
    }

    /// A client per request whose load ended before its pool's idle timer: the memory per call is not yet freed.
    /// `heapPerCall` is the live heap's growth per call where the allocator probe applies; RSS's otherwise.
    package static func idleTimeoutPending(idleSeconds: Double, loadSeconds: Double, heapPerCall: Double?, rssPerCall: Double) -> Finding {
        let measured = heapPerCall.map { "the live heap grew \(Quantity.formatBytes($0)) per call here" }
            ?? "RSS grew \(Quantity.formatBytes(rssPerCall)) per call here"
        return Finding(.idleTimeoutPending, "A client per request keeps its call's connection state after its shutdown until its pool's idle timer fires (idle_timeout \(Quantity.format(idleSeconds)) s); this load lasted \(Quantity.format(loadSeconds)) s, so \(measured), and that memory would be freed once calls are older than the idle timeout. Run longer than that, or set a shorter idle_timeout, to see the level.")
    }
}
