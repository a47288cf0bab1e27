import FoundationEssentials
import HighwaterRecords

/// A service's configuration as a limits file describes it (`check --limits FILE`), checked without running anything.
package struct ServiceLimits: Sendable {
    package var service: String
    package var file: String
    /// Container memory; nil with `memoryFromCgroup` means read it from cgroup `memory.max`.
    package var memoryLimit: UInt64?
    package var memoryFromCgroup: Bool
    /// Memory the process holds besides its workers.
    package var baseline: UInt64
    package var executorSize: Int?
    package var memoryPerWorker: UInt64?
    /// Where to take `memoryPerWorker` from: a results directory's run (`rss_growth / worker threads`).
    package var measured: (results: String, scenario: String?, config: String?)?
    package var largestUpload: UInt64?
    package var concurrentUploads: Int
    package var tempDir: String?
    /// Temp dir capacity; nil means read it with statvfs.
    package var tempDirCapacity: UInt64?
    /// Whether the temp dir is a tmpfs (its files are memory); nil means read it from the mount table.
    package var tempDirIsTmpfs: Bool?

    static let fields: [(path: String, kind: ScenarioField.Kind)] = [
        ("service", .text), ("memory.limit", .text), ("memory.baseline", .bytes(positive: false)),
        ("executor.size", .integer(min: 1)), ("executor.memory_per_worker", .text),
        ("executor.measured.results", .text), ("executor.measured.scenario", .text), ("executor.measured.config", .text),
        ("uploads.largest", .bytes(positive: true)), ("uploads.concurrent", .integer(min: 1)), ("uploads.temp_dir", .absolutePath),
        ("uploads.temp_dir_capacity", .text), ("uploads.temp_dir_tmpfs", .flag),
    ]

    /// Parses a limits file; every problem is a `file:line:column` diagnostic.
    package static func load(path: String) throws(ScenarioLoadError) -> ServiceLimits {
        let text: String
        do { text = try TextFile.read(path) } catch {
            throw ScenarioLoadError([.init(location: .init(file: path, line: 1, column: 1), message: error.description)])
        }
        return try load(text: text, file: path)
    }

    package static func load(text: String, file: String) throws(ScenarioLoadError) -> ServiceLimits {
        var sink = DiagnosticSink(file: file, text: text)
        var values: [String: (String, SourceLocation)] = [:]
        func walk(_ node: ConfigNode, path: String, keyLocation: SourceLocation) {
            if case .map(let entries, _) = node, !fields.contains(where: { $0.path == path }) {
                for e in entries { walk(e.value, path: path.isEmpty ? e.key : path + "." + e.key, keyLocation: e.keyLocation) }
                return
            }
            guard let field = fields.first(where: { $0.path == path }) else {
                let near = ScenarioDiagnostic.suggestion(for: path, among: fields.map(\.path)).map { "did you mean `\($0)`?" }
                sink.error("unknown key `\(path)`", at: keyLocation, hint: near ?? "keys: " + fields.map(\.path).joined(separator: ", "))
                return
            }
            guard let s = node.scalarText else {
                sink.error("`\(path)` must be a single value, found \(node.kindName)", at: node.location); return
            }
            switch ScenarioField.check(s, kind: field.kind, path: path) {
            case .success(let v): values[path] = (v ?? s, node.location)
            case .failure(let p): sink.error(p.message, at: node.location, hint: p.hint)
            }
        }
        if let root = ConfigNode.parse(text, sink: &sink, emptyHint: "a limits file needs at least `service: NAME` and a `memory` or `uploads` section") {
            if case .map = root { walk(root, path: "", keyLocation: root.location) } else {
                sink.error("a limits file must be a mapping, found \(root.kindName)", at: root.location, hint: "start with `service: NAME`")
            }
        }
        func bytesOr(_ path: String, word: String) -> (UInt64?, Bool) {
            guard let (v, loc) = values[path] else { return (nil, false) }
            if v == word { return (nil, true) }
            if let m = Quantity.byteMagnitude(v), m > Double(InputLimits.maxBytes) {
                let p = ScenarioField.tooLarge(path, v, largest: Quantity.formatBytes(InputLimits.maxBytes), why: nil)
                sink.error(p.message, at: loc, hint: p.hint)
                return (nil, false)
            }
            if let b = Quantity.bytes(v), b > 0 { return (b, false) }
            sink.error("`\(v)` is not a size or `\(word)`", at: loc, hint: "write e.g. 1 GiB, or `\(word)` to read it from this machine")
            return (nil, false)
        }
        let (memory, fromCgroup) = bytesOr("memory.limit", word: "cgroup")
        let (capacity, _) = bytesOr("uploads.temp_dir_capacity", word: "statvfs")
        let (perWorker, _) = bytesOr("executor.memory_per_worker", word: "measured")
        var limits = ServiceLimits(
            service: values["service"]?.0 ?? "service", file: file, memoryLimit: memory, memoryFromCgroup: fromCgroup,
            baseline: values["memory.baseline"].flatMap { Quantity.bytes($0.0) } ?? 0,
            executorSize: values["executor.size"].flatMap { Int($0.0) }, memoryPerWorker: perWorker, measured: nil,
            largestUpload: values["uploads.largest"].flatMap { Quantity.bytes($0.0) },
            concurrentUploads: values["uploads.concurrent"].flatMap { Int($0.0) } ?? 1,
            tempDir: values["uploads.temp_dir"]?.0, tempDirCapacity: capacity,
            tempDirIsTmpfs: values["uploads.temp_dir_tmpfs"].map { $0.0 == "true" })
        if let results = values["executor.measured.results"]?.0 {
            limits.measured = (results, values["executor.measured.scenario"]?.0, values["executor.measured.config"]?.0)
        }
        if limits.largestUpload != nil, limits.tempDir == nil, limits.tempDirCapacity == nil {
            sink.error("`uploads.largest` needs `uploads.temp_dir` or `uploads.temp_dir_capacity`", at: values["uploads.largest"]?.1,
                       hint: "say where spooled uploads go, e.g. `temp_dir: /tmp`")
        }
        if !sink.diagnostics.isEmpty { throw ScenarioLoadError(sink.sorted) }
        return limits
    }
}

/// Readings of this machine the command supplies (cgroup `memory.max`, statvfs and the mount table), so the
/// arithmetic stays pure and testable.
package struct MachineReadings: Sendable {
    package var cgroupMemoryMax: UInt64?
    package var filesystem: @Sendable (String) -> (capacity: UInt64, isTmpfs: Bool)?
    package init(cgroupMemoryMax: UInt64? = nil, filesystem: @escaping @Sendable (String) -> (capacity: UInt64, isTmpfs: Bool)? = { _ in nil }) {
        self.cgroupMemoryMax = cgroupMemoryMax; self.filesystem = filesystem
    }
}

/// What a limit bounds: the service's memory, or its temp dir's filesystem (`watch` compares each with its live figure).
package enum LimitResource: String, Sendable, Equatable {
    case memory
    case tempDir = "temp_dir"
}

/// One limit checked: the worst case against the capacity, the headroom, and a sentence saying it.
package struct LimitOutcome: Sendable, Equatable {
    package var name: String
    package var worstCase: UInt64
    package var capacity: UInt64
    package var passed: Bool
    package var sentence: String
    package var resource: LimitResource = .memory
    /// Capacity minus worst case; negative when over.
    package var headroom: Int64 { Int64(clamping: capacity) - Int64(clamping: worstCase) }
    package var failureLine: String {
        "\(name): worst case \(Quantity.formatBytes(worstCase)) > limit \(Quantity.formatBytes(capacity)): \(sentence)"
    }
}

package struct LimitsCheckError: Error, CustomStringConvertible, Sendable {
    package var description: String
}

package enum LimitsCheck {
    package static func evaluate(_ limits: ServiceLimits, readings: MachineReadings) throws(LimitsCheckError) -> [LimitOutcome] {
        var outcomes: [LimitOutcome] = []
        var memory = limits.memoryLimit
        if memory == nil, limits.memoryFromCgroup {
            guard let m = readings.cgroupMemoryMax else {
                throw LimitsCheckError(description: "\(limits.file): memory.limit is `cgroup` but this cgroup has no memory.max limit")
            }
            memory = m
        }
        var perWorker = limits.memoryPerWorker
        var perWorkerSource = "given"
        if perWorker == nil, let measured = limits.measured {
            let (bytes, source) = try measuredPerWorker(measured)
            perWorker = bytes; perWorkerSource = source
        }

        var workersWorst: UInt64 = limits.baseline
        if let size = limits.executorSize, let perWorker {
            workersWorst = SaturatingArithmetic.sum(workersWorst, SaturatingArithmetic.product(UInt64(max(0, size)), perWorker))
            if let memory {
                let passed = workersWorst <= memory
                let base = limits.baseline > 0 ? " plus \(Quantity.formatBytes(limits.baseline)) baseline" : ""
                outcomes.append(.init(
                    name: "\(limits.service): executor memory", worstCase: workersWorst, capacity: memory, passed: passed,
                    sentence: "\(size) workers x \(Quantity.formatBytes(perWorker)) per worker (\(perWorkerSource))\(base) = \(Quantity.formatBytes(workersWorst)) "
                        + (passed ? "fits in the \(Quantity.formatBytes(memory)) memory limit."
                                  : "exceeds the \(Quantity.formatBytes(memory)) memory limit: bound the pool to \(memory > limits.baseline ? (memory - limits.baseline) / max(1, perWorker) : 0) workers or set MALLOC_ARENA_MAX.")))
            }
        }

        if let largest = limits.largestUpload {
            let reading = limits.tempDir.flatMap(readings.filesystem)
            guard let capacity = limits.tempDirCapacity ?? reading?.capacity else {
                throw LimitsCheckError(description: "\(limits.file): cannot read the capacity of the temp dir \(limits.tempDir ?? "?"); give uploads.temp_dir_capacity")
            }
            let isTmpfs = limits.tempDirIsTmpfs ?? reading?.isTmpfs ?? false
            let worst = SaturatingArithmetic.product(largest, UInt64(max(0, limits.concurrentUploads)))
            let dir = limits.tempDir ?? "the temp dir"
            let kind = isTmpfs ? "a \(Quantity.formatBytes(capacity)) tmpfs" : "\(Quantity.formatBytes(capacity))"
            let passed = worst <= capacity
            outcomes.append(.init(
                name: "\(limits.service): temp dir \(dir)", worstCase: worst, capacity: capacity, passed: passed,
                sentence: "\(limits.concurrentUploads) concurrent upload(s) of \(Quantity.formatBytes(largest)) spool \(Quantity.formatBytes(worst)) into \(dir) (\(kind)); "
                    + (passed ? "it fits." : "a spooled upload fails with ENOSPC (errno 28): stream uploads to their destination or point the temp dir at a larger disk."),
                resource: .tempDir))
            if isTmpfs, let memory {
                let total = SaturatingArithmetic.sum(workersWorst, min(worst, capacity))
                let ok = total <= memory
                outcomes.append(.init(
                    name: "\(limits.service): memory with tmpfs uploads", worstCase: total, capacity: memory, passed: ok,
                    sentence: "files in the tmpfs \(dir) are memory: \(Quantity.formatBytes(min(worst, capacity))) of uploads plus \(Quantity.formatBytes(workersWorst)) for the process "
                        + (ok ? "fit in the \(Quantity.formatBytes(memory)) memory limit." : "exceed the \(Quantity.formatBytes(memory)) memory limit: the container is OOM-killed before the disk fills.")))
            }
        }
        return outcomes
    }

    /// `rss_growth / worker threads` of the largest-growing matching run in `DIR/summary.json`.
    static func measuredPerWorker(_ m: (results: String, scenario: String?, config: String?)) throws(LimitsCheckError) -> (UInt64, String) {
        let path = m.results.hasSuffix(".json") ? m.results : m.results + "/summary.json"
        let summary: ResultsSummary
        do {
            summary = try JSONDecoder().decode(ResultsSummary.self, from: Data(try TextFile.read(path, limit: 64 << 20).utf8))
        } catch let error as TextFile.ReadError {
            throw LimitsCheckError(description: "cannot read measured memory per worker: \(error.description); `executor.measured.results` names a directory `highwater run --out DIR` wrote")
        } catch {
            throw LimitsCheckError(description: "cannot read measured memory per worker from \(path): \(DecodingExplanation.describe(error)); run `highwater run --out DIR` again to rewrite it")
        }
        let runs = summary.runs.filter { (m.scenario == nil || $0.scenario == m.scenario) && (m.config == nil || $0.config == m.config) }
        let perWorker = runs.compactMap { run -> Double? in
            let threads = run.worker_threads ?? run.threads_max
            return threads > 0 ? Double(max(0, run.rss_growth)) / Double(threads) : nil
        }
        guard let worst = perWorker.max() else {
            throw LimitsCheckError(description: "\(path) has no run matching scenario \(m.scenario ?? "*") config \(m.config ?? "*")")
        }
        return (UInt64(worst), "measured in \(path)")
    }
}
