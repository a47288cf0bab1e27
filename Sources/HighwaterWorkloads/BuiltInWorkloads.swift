import HighwaterHost
import HighwaterRecords

/// The workloads Highwater ships, each registered under its names with the routes it serves: the host looks a
/// plan's workload up here and never switches on its name.
package enum BuiltInWorkloads {
    /// Every built-in workload name and how its routes are made.
    package static let registry: [String: RouteMaker] = {
        var all: [String: RouteMaker] = [:]
        for kind in WorkloadKind.allCases {
            switch kind.family {
            case .compute: all[kind.rawValue] = compute
            case .upload: all[kind.rawValue] = upload
            case .download: all[kind.rawValue] = download
            case .downstream: all[kind.rawValue] = downstream
            }
        }
        return all
    }()

    /// The routes of `context.plan`'s workload, for `highwater host`.
    package static let routes: RouteMaker = { context in
        guard let make = registry[context.plan.workload.name] else {
            throw HarnessError.unknownWorkload(context.plan.workload.name)
        }
        return try make(context)
    }

    static let compute: RouteMaker = { context in
        let workload = try ComputeWorkload(context.plan.workload)
        let options = context.plan.workload.options
        let failEvery = options["fail_every"].flatMap { Int($0) } ?? 0
        let crashAt = options["crash_at"].flatMap { Int($0) }
        let recorder = context.recorder
        return RouteTable(prefix: "/work") { head in
            ComputeSession(index: head.requestIndex, route: "/work", workload: workload, recorder: recorder,
                           failEvery: failEvery, crashAt: crashAt)
        }
    }

    static let upload: RouteMaker = { context in
        let workload = try UploadWorkload(plan: context.plan)
        let recorder = context.recorder
        return RouteTable(prefix: UploadSession.route) { head in
            UploadSession(head: head, workload: workload, recorder: recorder)
        }
    }

    static let download: RouteMaker = { context in
        let workload = try DownloadWorkload(context.plan.workload)
        let (executor, recorder) = (context.executor, context.recorder)
        return RouteTable(prefix: DownloadWorkload.route) { head in
            DownloadSession(head: head, workload: workload, executor: executor, recorder: recorder)
        }
    }

    static let downstream: RouteMaker = { context in
        let workload = try DownstreamWorkload(context.plan.workload, makeClient: true)
        let recorder = context.recorder
        return RouteTable(prefix: DownstreamWorkload.route, teardown: { workload.shutdown() }) { head in
            DownstreamSession(head: head, workload: workload, recorder: recorder)
        }
    }
}
