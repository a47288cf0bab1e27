import HighwaterRecords
import NIOHTTP1

/// What a hosted configuration's routes are made from: its plan, the recorder of its requests and the executor its
/// handlers run on.
package struct HostContext: Sendable {
    package let plan: RunPlan
    package let recorder: RequestRecorder
    package let executor: WorkerExecutor

    package init(plan: RunPlan, recorder: RequestRecorder, executor: WorkerExecutor) {
        self.plan = plan; self.recorder = recorder; self.executor = executor
    }
}

/// The routes a host serves, each a path prefix and the sessions it makes, and what to release once the server has
/// stopped. The first route whose prefix the request's path starts with takes it; none answers 404.
package struct RouteTable: Sendable {
    package struct Route: Sendable {
        package var prefix: String
        package var makeSession: SessionFactory
    }

    package var routes: [Route] = []
    package var teardown: [@Sendable () -> Void] = []

    package init() {}

    package init(prefix: String, teardown: (@Sendable () -> Void)? = nil, makeSession: @escaping SessionFactory) {
        routes = [Route(prefix: prefix, makeSession: makeSession)]
        if let teardown { self.teardown = [teardown] }
    }

    package var factory: SessionFactory {
        let routes = self.routes
        return { head in
            for route in routes where head.uri.hasPrefix(route.prefix) { return route.makeSession(head) }
            return nil
        }
    }

    package func tearDown() { for release in teardown { release() } }
}

/// How the routes of a plan are made: the built-in workloads' registry (`highwater host`), or a user's own routes
/// (`Host.main`).
package typealias RouteMaker = @Sendable (HostContext) throws -> RouteTable
