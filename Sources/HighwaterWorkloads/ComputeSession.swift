@preconcurrency import Glibc
import HighwaterHost
import HighwaterRecords
import NIOCore

/// The session of a compute workload: the body is ignored, the work runs at the end.
final class ComputeSession: RequestSession, @unchecked Sendable {
    let index: Int
    let route: String
    let workload: ComputeWorkload
    let recorder: RequestRecorder
    let failEvery: Int
    let crashAt: Int?

    init(index: Int, route: String, workload: ComputeWorkload, recorder: RequestRecorder, failEvery: Int, crashAt: Int?) {
        self.index = index; self.route = route; self.workload = workload; self.recorder = recorder
        self.failEvery = failEvery; self.crashAt = crashAt
    }

    func receive(_ chunk: ByteBuffer) throws {}

    func finish() -> HostResponse {
        let start = recorder.start(i: index, route: route)
        if index == crashAt {
            // For showing how a crashed child is reported: a message on stderr, then SIGABRT.
            let message = "highwater host: crashing on request \(index) as configured (crash_at)\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            Glibc.abort()
        }
        workload.run()
        if failEvery > 0 && index % failEvery == failEvery - 1 {
            // A handler that throws: recorded with its error text, answered with 500, the server goes on.
            let message = "injected failure on request \(index) (fail_every \(failEvery))"
            recorder.finish(start, status: 500, error: message)
            return HostResponse(status: .internalServerError, body: JSONText.error(message))
        }
        recorder.finish(start, status: 200)
        return HostResponse(status: .ok, body: "{\"i\":\(index)}")
    }

    func abort() {}
}
