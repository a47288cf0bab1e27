@preconcurrency import Glibc
import HighwaterSystem
import NIOCore
import NIOHTTP1

/// A request as a handler sees it: the path it came on, its body whole, and its number in the run.
public struct Request: Sendable {
    /// The request's path, without the query (`/resize`).
    public var path: String
    /// The query after `?`, if any.
    public var query: String?
    /// The request's method (`GET`, `POST`, …).
    public var method: String
    /// The body, whole. A handler that must stream a large body is not what this API is for.
    public var body: [UInt8]
    /// The request's number in the run (the load driver numbers them from 0), or -1 when it came from elsewhere.
    public var index: Int

    /// A request, as the host makes one for a handler (or a test calls a handler with).
    public init(path: String, query: String? = nil, method: String = "GET", body: [UInt8] = [], index: Int = -1) {
        self.path = path; self.query = query; self.method = method; self.body = body; self.index = index
    }
}

/// A handler's answer.
public struct Response: Sendable {
    /// The HTTP status code (200, 404, 500, …).
    public var status: Int
    /// The body, sent with its length.
    public var body: [UInt8]
    /// The `content-type` header.
    public var contentType: String

    /// An answer with a binary body.
    public init(status: Int = 200, body: [UInt8] = [], contentType: String = "application/octet-stream") {
        self.status = status; self.body = body; self.contentType = contentType
    }

    /// A text body, as UTF-8.
    public init(status: Int = 200, text: String, contentType: String = "text/plain; charset=utf-8") {
        self.init(status: status, body: Array(text.utf8), contentType: contentType)
    }
}

/// Code that answers a request on a worker thread of the run's executor: Highwater records the thread's RSS and
/// heap counters around each call, as it does for its own workloads.
///
/// Throwing records the request as failed with the error's text and answers 500; the run goes on.
public protocol Handler: Sendable {
    /// Answers one request, on a worker thread of the run's executor.
    func respond(to request: Request) throws -> Response
}

/// A handler written with `async`: it still starts on, and is recorded on, a worker thread of the run's executor,
/// which waits for it to finish, as a thread pool serving async code from a synchronous server does.
public protocol AsyncHandler: Sendable {
    /// Answers one request; the worker thread it started on waits for it.
    func respond(to request: Request) async throws -> Response
}

/// The routes a host serves: a path prefix each, the first that matches takes the request.
public struct Routes: Sendable {
    enum Entry: Sendable {
        case sync(any Handler)
        case async(any AsyncHandler)
    }

    var entries: [(prefix: String, entry: Entry)] = []

    /// No routes yet: every request answers 404 until one is added.
    public init() {}

    /// Serves `handler` for requests whose path starts with `prefix` (`/resize`).
    public mutating func add(_ prefix: String, _ handler: some Handler) {
        entries.append((prefix, .sync(handler)))
    }

    /// Serves an async `handler` for requests whose path starts with `prefix`.
    public mutating func add(_ prefix: String, _ handler: some AsyncHandler) {
        entries.append((prefix, .async(handler)))
    }

    /// The prefixes, in the order they were added.
    public var prefixes: [String] { entries.map(\.prefix) }

    /// The table the host serves from: each entry's sessions record on `context`'s recorder. A plan whose route
    /// (its workload's name) none of the entries serves is refused before the host listens.
    package func table(_ context: HostContext) throws(UnservedRoute) -> RouteTable {
        let route = context.plan.route
        guard entries.contains(where: { route.hasPrefix($0.prefix) }) else {
            throw UnservedRoute(workload: context.plan.workload.name, route: route, served: prefixes)
        }
        var table = RouteTable()
        let recorder = context.recorder
        for (prefix, entry) in entries {
            table.routes.append(.init(prefix: prefix) { head in HandlerSession(head: head, entry: entry, recorder: recorder) })
        }
        return table
    }
}

/// A scenario's workload that the host's routes do not serve: bad input, named with the routes it does serve.
package struct UnservedRoute: HostConfigurationError {
    package var workload: String
    package var route: String
    package var served: [String]

    package var description: String {
        "workload `\(workload)` asks for the route \(route), which this host does not serve; it serves "
            + (served.isEmpty ? "no routes (add them with Routes.add before Host.main)" : served.joined(separator: ", "))
            + ": name one of them as the scenario's workload"
    }
}

/// A `Handler` as the host runs one: the body gathered chunk by chunk on the worker, the handler called at its end
/// between the recorder's readings.
final class HandlerSession: RequestSession, @unchecked Sendable {
    private let request: Request
    private let entry: Routes.Entry
    private let recorder: RequestRecorder
    /// Touched only by the executor's calls, one at a time.
    private var body: [UInt8] = []

    init(head: HTTPRequestHead, entry: Routes.Entry, recorder: RequestRecorder) {
        let uri = head.uri
        let path = uri.prefix { $0 != "?" }
        let query = path.count < uri.count ? String(uri.dropFirst(path.count + 1)) : nil
        request = Request(path: String(path), query: query, method: head.method.rawValue, index: head.requestIndex)
        self.entry = entry
        self.recorder = recorder
    }

    func receive(_ chunk: ByteBuffer) throws {
        body.append(contentsOf: chunk.readableBytesView)
    }

    func finish() -> HostResponse {
        var gathered = self.request
        gathered.body = body
        body = []
        let request = gathered
        let start = recorder.start(i: request.index, route: request.path)
        let outcome: Result<Response, any Error>
        switch entry {
        case .sync(let handler):
            outcome = Result { try handler.respond(to: request) }
        case .async(let handler):
            outcome = Self.wait { try await handler.respond(to: request) }
        }
        switch outcome {
        case .success(let response):
            recorder.finish(start, status: response.status)
            var answer = HostResponse(status: HTTPResponseStatus(statusCode: response.status), body: "",
                                      contentType: response.contentType)
            answer.bytes = response.body
            return answer
        case .failure(let error):
            let message = "\(error)"
            recorder.finish(start, status: 500, error: message)
            return HostResponse(status: .internalServerError, body: JSONText.error(message))
        }
    }

    func abort() { body = [] }

    /// Runs `work` as a task and holds this worker thread until it ends.
    private static func wait(_ work: @escaping @Sendable () async throws -> Response) -> Result<Response, any Error> {
        let done = ConditionLock<Result<Response, any Error>?>(nil)
        Task {
            let result: Result<Response, any Error>
            do { result = .success(try await work()) } catch { result = .failure(error) }
            done.withLock { $0 = result }
            done.signal()
        }
        return done.wait(until: { $0 != nil }, then: { $0! })
    }
}
