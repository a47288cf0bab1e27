import HighwaterRecords

/// The sentences stored with a verdict: a short label for the badge, what the memory did with the figures and
/// the mechanism measured (arenas against glibc's limit, each arena's high water, the live heap), and advice
/// that fits the configuration: never a setting the run already has.
package enum GrowthExplanation {
    /// A hosted configuration's sentences.
    package static func explain(_ s: inout RunSummary, plan: RunPlan, arenaLimit: Int, cores: Int, lastSample: SampleRecord? = nil) {
        explain(&s, subject: .hosted(plan), arenaLimit: arenaLimit, cores: cores, lastSample: lastSample)
    }

    package static func explain(_ s: inout RunSummary, subject: GrowthSubject, arenaLimit: Int, cores: Int, lastSample: SampleRecord? = nil) {
        let g = s.growth, e = g.evidence
        let rise = Double(s.verdictGrowth)
        let counted = e?.requests_counted ?? s.requests
        var label: String, finding: String, advice: String?
        switch g.classification {
        case .notRun:
            label = "not run"
            finding = "The run did not happen: " + (s.run_error ?? "no request reached a handler") + "."
            advice = nil
        case .crashed:
            label = "crashed" + (s.child_exit.map { " (\($0))" } ?? "")
            finding = "The hosted child ended with \(s.child_exit ?? "a failure") after \(s.requests) requests; its memory is not judged."
            advice = "Read the child's stderr below; a run without data fails every expectation on it."
        case .inconclusive:
            label = e?.reason ?? "inconclusive"
            finding = "\(label.prefix(1).uppercased() + label.dropFirst()): RSS moved \(bytes(rise)) over \(span(s)) after the warm-up, too little to tell noise from growth."
            advice = e.map { lacking($0, sent: s.requests) }
        case .stable where e?.pool_single == true:
            label = "stable"
            finding = "RSS rose \(bytes(rise)) once, when the pool's one worker started (its working set), and held flat for the rest of the run: a pool of one holds one working set, stable."
            advice = nil
        case .stable:
            label = "stable"
            finding = "RSS stayed within \(bytes(abs(rise))) of \(bytes(e?.baseline_bytes ?? s.rss_start)) over \(span(s)) after the warm-up"
            if let e, s.requests > 0 { finding += " (slope \(bytes(g.slope_bytes_per_request)) ± \(bytes(e.slope_ci95_bytes_per_request)) per request)" }
            finding += ": stable."
            advice = nil
        case .plateau:
            label = poolLabel(e, subject: subject, arenaLimit: arenaLimit, cores: cores)
                ?? arenaCapLabel(s, subject: subject, arenaLimit: arenaLimit, cores: cores)
                ?? s.plateau_threads.map { "plateau at \($0) thread\($0 == 1 ? "" : "s")" } ?? "plateau"
            if let fell = e?.fell_back_bytes, let p = g.first_plateau_request {
                finding = "RSS grew, peaked at request \(p) and came down \(bytes(Double(fell))) since, ending \(bytes(rise)) above where it began"
                if let share = e?.plateau_share { finding += " (the last \(percent(share)) of the run after the peak)" }
            } else if let low = e?.level_low_bytes, let high = e?.level_high_bytes, let p = g.first_plateau_request {
                finding = "RSS rose by request \(p) to a level that swings between \(bytes(Double(low))) and \(bytes(Double(high))) (the middle half of its readings over the run's last half), with no trend up or down"
            } else if let bound = e?.pool_bound, let between = e?.pool_between_share {
                finding = "RSS grew \(bytes(rise))"
                if let p = g.first_plateau_request { finding += " and settled at request \(p)" }
                let step = s.arenas_max != nil ? "the pool took a new worker thread or glibc a new arena" : "the pool took a new worker thread"
                finding += " at \(bytes(e?.steady_bytes ?? s.rss_end)): it rose in \(e?.pool_steps ?? 0) steps, each where \(step), flat between them (\(percent(between)) of the rise came between steps)"
                finding += bound == "arenas" ? "; the arenas were at their cap, and the threads after it share them" : "; the pool stopped adding threads"
                if let share = e?.plateau_share { finding += ", and RSS held for the last \(percent(share)) of the run" }
            } else {
                finding = "RSS grew \(bytes(rise))"
                if let p = g.first_plateau_request { finding += " and settled at request \(p)" }
                finding += " at \(bytes(e?.steady_bytes ?? s.rss_end))"
                if let share = e?.plateau_share { finding += ", holding for the last \(percent(share)) of the run (at least \(percent(e!.minimum_plateau_share)) needed)" }
            }
            finding += "."
            if let t = s.plateau_threads, subject.hosted == nil {
                // `record`: the server's threads as its samples counted them, not the workers requests ran on.
                finding += " The process had \(t) thread\(t == 1 ? "" : "s") by then."
            } else if let t = s.plateau_threads {
                finding += " \(t) worker thread\(t == 1 ? "" : "s") had run by then, of \(s.worker_threads ?? t)"
                if let g = s.growth_per_thread { finding += " (about \(bytes(g)) each on average; threads do not each add one step, each arena rises to its own high water)" }
                finding += "."
            }
            finding += mechanism(s, subject: subject, arenaLimit: arenaLimit, cores: cores, lastSample: lastSample)
            let kept = (s.allocator ?? "glibc") == "glibc" ? "retained arena memory" : "memory \(s.allocator!) keeps"
            finding += heapFlat(s, rise: rise) ? " The growth stopped and the live heap did not grow: \(kept), not a leak." : " The growth stopped: not a leak."
            advice = remedies(s, subject: subject)
        case .retention:
            label = "allocator retention"
            finding = "RSS rose \(bytes(rise)) (\(bytes(g.slope_bytes_per_request)) per request, still rising at the end) while the live heap "
            finding += e?.heap_growth_bytes.map { "changed by only \(bytes($0))" } ?? "stayed flat"
            finding += ": the allocator keeps memory the program freed."
            finding += mechanism(s, subject: subject, arenaLimit: arenaLimit, cores: cores, lastSample: lastSample)
            advice = remedies(s, subject: subject)
        case .linear:
            let heapGrew = e?.heap_growth_bytes.map { Double($0) > 0.25 * rise } ?? false
            label = heapGrew ? "leak" : "probable leak"
            let perSecond = e?.seconds_counted.map { $0 > 0 ? " (\(bytes(rise / $0)) a second)" : "" } ?? ""
            finding = s.requests == 0 ? "RSS kept growing to the end: \(bytes(rise)) over \(span(s))\(perSecond)"
                : "RSS kept growing to the end at \(bytes(g.slope_bytes_per_request)) per request"
            if let e, s.requests > 0 { finding += " (± \(bytes(e.slope_ci95_bytes_per_request)), R² \(fixed(e.r_squared)))" }
            if s.throughput_rps > 0 { finding += ", \(bytes(g.slope_bytes_per_request * s.throughput_rps * 3600)) per hour at \(Quantity.format(s.throughput_rps)) requests/s" }
            finding += s.requests > 0 ? "; \(bytes(rise)) over \(counted) requests." : "."
            if let heap = e?.heap_growth_bytes {
                finding += heapGrew ? " The live heap grew too (\(bytes(heap))): memory still referenced, a leak."
                    : " The live heap stayed near flat (\(bytes(heap))): look outside malloc (mmap, runtime caches, thread stacks)."
            } else {
                finding += " The live heap is not available (\(s.allocator ?? "no allocator probe")), so this rests on RSS alone: a probable leak."
            }
            finding += foreignHeap(s, lastSample: lastSample)
            advice = "Look for what outlives a request (unbounded caches, global lists, retained closures or buffers); with the allocation agent (on by default in hosted runs; `highwater record --agent`) Highwater names the call sites that hold the memory."
        case .stillGrowing:
            label = "still growing"
            finding = "RSS rose \(bytes(rise)) and had not settled by the end"
            if e?.pool_still_filling == true {
                let threads = e?.pool_threads.map { " (\($0) worker thread\($0 == 1 ? "" : "s") so far)" } ?? ""
                label = "still filling" + threads
                finding += ": it rose in steps with the pool, flat between them, and the pool was still adding threads or arenas in the last stretch\(threads); not a leak, but where it stops is not seen yet"
            } else if let share = e?.plateau_share, let m = e?.minimum_plateau_share {
                finding += ": it held level only for the last \(percent(share)) of the run (at least \(percent(m)) needed for a plateau)"
            } else {
                finding += " (slope \(bytes(g.slope_bytes_per_request)) per request over the run, \(bytes(e?.last_half_slope_bytes_per_request ?? 0)) over its last half)"
            }
            finding += "."
            finding += mechanism(s, subject: subject, arenaLimit: arenaLimit, cores: cores, lastSample: lastSample)
            advice = "Run longer to tell a plateau from a leak: load.until: settled, or at least \(2 * max(s.requests, subject.load.requests)) requests (load.requests)."
        }
        s.growth.label = label
        s.growth.finding = finding
        s.growth.advice = advice
    }

    /// What was measured of glibc's arenas and the live heap; "not available (jemalloc)" under another allocator.
    static func mechanism(_ s: RunSummary, subject: GrowthSubject, arenaLimit: Int, cores: Int, lastSample: SampleRecord?) -> String {
        if let a = s.allocator, a != "glibc" {
            let own = foreignHeap(s, lastSample: lastSample)
            return own.isEmpty ? " Arenas and the live heap: not available (\(a)); the verdict rests on RSS and threads." : own
        }
        var text = ""
        if let arenas = s.arenas_max, arenas > 0 {
            let limit = subject.arenaLimitSource(cores: cores)
            text += " The arenas reached \(arenas) of glibc's limit of \(arenaLimit) (\(limit), the main arena included)"
            if let r = s.arena_limit_request { text += ", the limit from request \(r) on; later threads share arenas" }
            text += "."
        }
        if let marks = s.arena_high_water, !marks.isEmpty {
            let sorted = marks.sorted()
            text += " Each arena's high water (malloc_info): median \(bytes(sorted[sorted.count / 2])), largest \(bytes(sorted.last!)), \(bytes(sorted.reduce(0, +))) over \(marks.count) arenas: the growth is each arena rising to its own high water."
        }
        if let last = lastSample, let live = last.heap_in_use, let held = last.heap_system, held > 0 {
            let idle = 1 - Double(live) / Double(held)
            text += " At the end the arenas held \(bytes(held)), live \(bytes(live)): \(percent(max(idle, 0))) idle."
        }
        return text
    }

    /// jemalloc's or tcmalloc's own figures at the end, in their terms: what it keeps beyond the live heap.
    static func foreignHeap(_ s: RunSummary, lastSample: SampleRecord?) -> String {
        guard let a = s.allocator, a != "glibc", let last = lastSample, let live = last.heap_in_use else { return "" }
        let kept = last.heap_free ?? 0
        switch a {
        case "jemalloc":
            return " jemalloc keeps \(bytes(kept)) of dirty and unused pages (stats.resident \(bytes(last.heap_system ?? 0))); allocated \(bytes(live))."
        case "tcmalloc":
            return " tcmalloc keeps \(bytes(kept)) free in its page heap and caches (heap \(bytes(last.heap_system ?? 0)) mapped); allocated \(bytes(live))."
        default:
            return " \(a) holds \(bytes(last.heap_system ?? 0)); allocated \(bytes(live))."
        }
    }

    /// The label of a rise the pool explained: what bounded it.
    static func poolLabel(_ e: GrowthEvidence?, subject: GrowthSubject, arenaLimit: Int, cores: Int) -> String? {
        guard let e, let bound = e.pool_bound else { return nil }
        if bound == "arenas", let n = e.pool_arenas {
            guard n >= arenaLimit else { return "plateau at \(n) arena\(n == 1 ? "" : "s")" }
            let source = subject.arenaCapSource(cores: cores)
            return "plateau at \(n) arena\(n == 1 ? "" : "s") (\(source))"
        }
        return e.pool_threads.map { "plateau at \($0) thread\($0 == 1 ? "" : "s")" }
    }

    /// A plateau reached with glibc's arenas at their cap: the arenas bounded it, whatever the thread count.
    static func arenaCapLabel(_ s: RunSummary, subject: GrowthSubject, arenaLimit: Int, cores: Int) -> String? {
        guard (s.allocator ?? "glibc") == "glibc", arenaLimit > 0, let n = s.plateau_arenas ?? s.arenas_max, n >= arenaLimit else { return nil }
        let source = subject.arenaCapSource(cores: cores)
        return "plateau at \(n) arena\(n == 1 ? "" : "s") (\(source))"
    }

    /// What an inconclusive run lacked, with the figures it had, and how to get the rest.
    static func lacking(_ e: GrowthEvidence, sent: Int) -> String {
        var asks: [String] = []
        for what in e.lacked ?? ["requests"] {
            switch what {
            case "requests":
                asks.append("send more requests: \(e.requests_counted) were counted after a warm-up of \(e.warmup), at least \(e.minimum_requests) are needed (load.requests \(e.minimum_requests + e.warmup) or more, or verdict.min_requests)")
            case "samples":
                asks.append("take more samples: \(e.samples_counted ?? 0) were taken after the warm-up, at least \(e.minimum_samples) are needed (a longer run, a shorter sample_interval, or verdict.min_samples)")
            case "time":
                let had = e.seconds_counted.map { Quantity.format($0) } ?? "0"
                asks.append("run longer: \(sent) requests took \(had) s after the warm-up, at least \(Quantity.format(e.minimum_seconds ?? GrowthMinimums.defaultSeconds)) s are needed for an allocator to give memory back (load.until: settled, more load.requests, or verdict.min_seconds)")
            default: break
            }
        }
        let text = asks.joined(separator: "; and ")
        return "To judge memory here, " + text + "."
    }

    /// "300 requests (2.1 s)", or the sampled span where there were no requests.
    static func span(_ s: RunSummary) -> String {
        let e = s.growth.evidence
        let time = e?.seconds_counted.map { " (\(Quantity.format($0)) s)" } ?? ""
        if s.requests == 0, let n = e?.samples_counted { return "\(n) samples" + time }
        return "\(e?.requests_counted ?? s.requests) requests" + time
    }

    static func heapFlat(_ s: RunSummary, rise: Double) -> Bool {
        guard let heap = s.growth.evidence?.heap_growth_bytes else { return false }
        return Double(heap) <= 0.25 * max(rise, 0)
    }

    /// The fixes this run does not already apply, in the order they are cheapest to try.
    static func remedies(_ s: RunSummary, subject: GrowthSubject) -> String? {
        let env = subject.environment
        let preload = env["LD_PRELOAD"] ?? ""
        let glibc = (s.allocator ?? "glibc") == "glibc" && preload.isEmpty
        var fixes: [String] = []
        var has: [String] = []
        // Pools Highwater sized: bounding them is a fix it can name. A process from outside sizes its own.
        let pools: Set<ExecutorKind> = [.fixed, .lazy, .eager]
        if let plan = subject.hosted, let kind = ExecutorKind(rawValue: plan.executor.kind), pools.contains(kind) {
            if plan.executor.size > 1 {
                let bound = max(1, min(4, (s.plateau_threads ?? plan.executor.size) / 4))
                if bound < plan.executor.size { fixes.append("bound the pool to \(bound) (executor.size is \(plan.executor.size))") }
            } else {
                has.append("a pool of one")
            }
        }
        if glibc {
            if let current = env["MALLOC_ARENA_MAX"] {
                if let n = Int(current), n > 2 { fixes.append("lower MALLOC_ARENA_MAX from \(n) to 2") } else { has.append("MALLOC_ARENA_MAX=\(current)") }
            } else {
                fixes.append("set MALLOC_ARENA_MAX=2")
            }
            if let plan = subject.hosted, plan.workload.options["trim"] == "true" { has.append("malloc_trim after each request") } else if let plan = subject.hosted, [.allocChurn, .leak].contains(WorkloadKind(rawValue: plan.workload.name)) {
                fixes.append("call malloc_trim(0) after large requests")
            }
            fixes.append("preload jemalloc or tcmalloc (LD_PRELOAD)")
        } else {
            has.append(s.allocator ?? preload)
        }
        if fixes.isEmpty {
            return "This run already has \(has.joined(separator: " and ")); what remains is the working set itself."
        }
        var text = fixes.count == 1 ? fixes[0] : fixes.dropLast().joined(separator: ", ") + ", or " + fixes.last!
        text = text.prefix(1).uppercased() + text.dropFirst() + "."
        if !has.isEmpty { text += " (This run already has \(has.joined(separator: " and ")).)" }
        return text
    }

    static func bytes(_ v: Double) -> String { Quantity.formatBytes(v) }
    static func bytes<T: BinaryInteger>(_ v: T) -> String { Quantity.formatBytes(v) }
    static func percent(_ share: Double) -> String { "\(Int((share * 100).rounded()))%" }
    static func fixed(_ v: Double) -> String { String(Double(Int(v * 100)) / 100) }
}
