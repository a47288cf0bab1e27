import HighwaterRecords

/// Sampled allocations folded by stack and by site, scaled back to totals: what each call site allocated
/// over the run and what it still held at the end.
package struct AllocationProfile: Sendable {
    /// A distinct stack (outermost frame first) and its scaled totals.
    package struct Stack: Sendable {
        package var frames: [String]
        package var allocCount: Double = 0
        package var allocBytes: Double = 0
        package var retainedCount: Double = 0
        package var retainedBytes: Double = 0
        package var samples = 0
        /// The requests (the host's numbers) whose sampled allocations here were still live at the end.
        package var retainedRequests: Set<Int> = []

        package init(frames: [String], allocCount: Double = 0, allocBytes: Double = 0, retainedCount: Double = 0,
                    retainedBytes: Double = 0, samples: Int = 0) {
            self.frames = frames; self.allocCount = allocCount; self.allocBytes = allocBytes
            self.retainedCount = retainedCount; self.retainedBytes = retainedBytes; self.samples = samples
        }
    }

    package var stacks: [Stack]
    package var interval: Int64
    /// The Python frames among the stacks' names, with their function, file and line apart (pprof keeps them so).
    package var pythonFrames: [String: PythonFrames.Location] = [:]
    /// The folded stacks keep Python frames alone, in stacks that have any (HIGHWATER_AGENT_PYTHON=only).
    package var pythonOnly = false

    package init(stacks: [Stack], interval: Int64, pythonFrames: [String: PythonFrames.Location] = [:]) {
        self.stacks = stacks
        self.interval = interval
        self.pythonFrames = pythonFrames
    }

    /// Frames of the agent and of the unwinder are the recording itself, not the program.
    static func isRecording(_ module: String) -> Bool {
        module.hasSuffix("/libHighwaterAgent.so") || module.contains("/libunwind")
    }

    package init(events: AllocationEvents, symbolizer: Symbolizer) {
        interval = events.interval
        // Summed by return addresses first, so each distinct stack is named once.
        var byAddresses: [[UInt64]: Stack] = [:]
        // Added in place: one hash of the stack a sample, not a read and a write (millions, every allocation recorded).
        func add(_ sample: AllocationEvents.Sample, to stack: inout Stack) {
            let w = events.weight(size: sample.size)
            stack.samples += 1
            stack.allocCount += w.count
            stack.allocBytes += w.bytes
            if !sample.freed {
                stack.retainedCount += w.count
                stack.retainedBytes += w.bytes
                if let request = sample.request { stack.retainedRequests.insert(request) }
            }
        }
        for sample in events.samples { add(sample, to: &byAddresses[sample.stack, default: Stack(frames: [])]) }
        pythonOnly = events.python?.pythonOnly ?? false
        var python: [UInt64: PythonFrames.Location?] = [:]
        func location(_ word: UInt64) -> PythonFrames.Location? {
            if let known = python[word] { return known }
            let found = events.pythonCodes[PythonFrames.codeID(word)].map { code in
                PythonFrames.Location(function: code.qualname, file: code.filename, line: code.line(at: PythonFrames.instruction(word)),
                                      firstLine: code.firstLine)
            }
            python[word] = found
            return found
        }
        var named: [String: PythonFrames.Location] = [:]
        stacks = Self.summedByNames(byAddresses.map { addresses, sum in
            let native = addresses.filter { !PythonFrames.isPython($0) }
            var frames = native.map(symbolizer.frame)
            if let first = frames.firstIndex(where: { !Self.isRecording($0.module) }) {
                frames.removeFirst(first)
            }
            // The Python frames, innermost first, in groups each run by one activation of the evaluation loop.
            var groups: [[PythonFrames.Location]] = []
            var group: [PythonFrames.Location] = []
            for word in addresses where PythonFrames.isPython(word) {
                if let found = location(word) { group.append(found) }
                if PythonFrames.isEntry(word) { groups.append(group); group = [] }
            }
            if !group.isEmpty { groups.append(group) }
            var names: [String] = []
            var next = 0
            for frame in frames {
                if frame.name == PythonFrames.evaluationLoop, next < groups.count {
                    names += groups[next].map(\.name)
                    next += 1
                } else {
                    names.append(frame.name)
                }
            }
            // Groups whose native activations were past the unwinder's depth, or unnamed, are the outermost frames.
            for rest in groups.dropFirst(next) { names += rest.map(\.name) }
            for g in groups { for l in g { named[l.name] = l } }
            var stack = sum
            stack.frames = Array(names.reversed())
            return stack
        })
        pythonFrames = named
    }

    /// Several processes' profiles as one (a server and its workers): stacks of the same names summed.
    package init(merging profiles: [AllocationProfile]) {
        interval = profiles.first?.interval ?? 0
        stacks = Self.summedByNames(profiles.flatMap(\.stacks))
        pythonFrames = profiles.reduce(into: [:]) { all, p in all.merge(p.pythonFrames) { a, _ in a } }
        pythonOnly = profiles.contains { $0.pythonOnly }
    }

    /// One stack per list of names, the totals of those that share it summed (addresses that name alike: inlined
    /// copies, one function in two processes' maps).
    static func summedByNames(_ all: [Stack]) -> [Stack] {
        var byNames: [[String]: Int] = [:]
        var stacks: [Stack] = []
        for stack in all {
            if let index = byNames[stack.frames] {
                stacks[index].samples += stack.samples
                stacks[index].allocCount += stack.allocCount
                stacks[index].allocBytes += stack.allocBytes
                stacks[index].retainedCount += stack.retainedCount
                stacks[index].retainedBytes += stack.retainedBytes
                stacks[index].retainedRequests.formUnion(stack.retainedRequests)
            } else {
                byNames[stack.frames] = stacks.count
                stacks.append(stack)
            }
        }
        return stacks
    }

    /// The allocator's own entry points, skipped when naming the site that called them.
    static let allocatorFrames: Set<String> = ["malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc",
                                               "memalign", "valloc", "pvalloc", "swift_slowAlloc", "swift_allocObject",
                                               "operator new(unsigned long)", "_Znwm", "_Znam"]

    /// The innermost frame of a stack that is neither an allocator entry point nor Swift's runtime or standard library
    /// (a class instance comes through swift_allocObject, an array's storage through _ContiguousArrayBuffer): the code
    /// that asked for the memory. A stack that is all runtime is named by its innermost frame past the allocator.
    package static func site(_ frames: [String]) -> String {
        frames.last { !allocatorFrames.contains($0) && !isSwiftRuntime($0) } ?? frames.last { !allocatorFrames.contains($0) } ?? frames.last ?? "?"
    }

    /// Swift's runtime (C functions `swift_…`, C++ `swift::…`) and standard library (`Swift.…`, as demangled): frames
    /// between a program's code and malloc that name how it allocated, not who. A demangled name has its module before
    /// a dot, and a module may itself be called `swift_server`: only a runtime function's name has no dot.
    static func isSwiftRuntime(_ frame: String) -> Bool {
        ((frame.hasPrefix("swift_") || frame.hasPrefix("_swift_")) && !frame.contains(".")) || frame.hasPrefix("swift::")
            || frame.hasPrefix("Swift.") || frame.hasPrefix("generic specialization <") && frame.contains(" of Swift.")
    }

    /// A stack's site: its innermost Python frame when it has one (the Python code that asked, whichever of the
    /// interpreter's C functions then called malloc), else the innermost native frame of the program's own (`site`).
    package func site(_ frames: [String]) -> String {
        if !pythonFrames.isEmpty, let python = frames.last(where: { pythonFrames[$0] != nil }) { return python }
        return Self.site(frames)
    }

    /// One record per site, largest retained first, then largest allocated.
    package func sites(requests: Int) -> [AllocationSite] {
        var bySite: [String: AllocationSite] = [:]
        // Each site keeps the stack behind most of what it retained (allocated, when it retained nothing).
        var shown: [String: (Double, Double)] = [:]
        var retainedBy: [String: Set<Int>] = [:]
        for s in stacks {
            let name = site(s.frames)
            if !s.retainedRequests.isEmpty { retainedBy[name, default: []].formUnion(s.retainedRequests) }
            var site = bySite[name] ?? AllocationSite(site: name)
            site.alloc_count += UInt64(s.allocCount.rounded())
            site.alloc_bytes += UInt64(s.allocBytes.rounded())
            site.retained_count += UInt64(s.retainedCount.rounded())
            site.retained_bytes += UInt64(s.retainedBytes.rounded())
            site.samples += s.samples
            if shown[name].map({ (s.retainedBytes, s.allocBytes) > $0 }) ?? true {
                shown[name] = (s.retainedBytes, s.allocBytes)
                // A Python site's stack is its Python callers, not the interpreter's C functions around them.
                let innermost = s.frames.reversed()
                site.stack = Array((pythonFrames[name] != nil ? innermost.filter { pythonFrames[$0] != nil } : Array(innermost)).prefix(8))
            }
            bySite[name] = site
        }
        return bySite.values.map { site in
            var site = site
            if let by = retainedBy[site.site] {
                site.retained_requests = by.count
                site.retained_requests_first = by.min()
                site.retained_requests_last = by.max()
            }
            if requests > 0 { site.alloc_bytes_per_request = site.alloc_bytes / UInt64(requests) }
            site.retained_bytes_per_request = requests > 0 ? site.retained_bytes / UInt64(requests) : nil
            return site
        }.sorted { ($0.retained_bytes, $0.alloc_bytes, $0.site) > ($1.retained_bytes, $1.alloc_bytes, $1.site) }
    }

    /// Folded stacks (`frame;frame;… bytes`, outermost first), as speedscope, inferno and flamegraph.pl read them.
    /// With `pythonOnly`, a stack with Python frames keeps them alone.
    package func folded(retained: Bool) -> String {
        var lines: [String] = []
        for s in stacks {
            let bytes = UInt64((retained ? s.retainedBytes : s.allocBytes).rounded())
            guard bytes > 0 else { continue }
            let python = pythonOnly ? s.frames.filter { pythonFrames[$0] != nil } : []
            // `;` separates frames and the last space the count; a frame keeps neither.
            let frames = (python.isEmpty ? s.frames : python).map { $0.replacing(";", with: ",").replacing("\n", with: " ") }
            lines.append((frames.isEmpty ? ["?"] : frames).joined(separator: ";") + " \(bytes)")
        }
        return lines.sorted().joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
    }
}
