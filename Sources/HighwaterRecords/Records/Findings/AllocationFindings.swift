/// The allocation agent's notes: the live heap it could not read, the profiles it could or could not make.
extension Finding {
    package static let heapNotReadable = Finding(.heapNotReadable, "the agent's live heap was not readable during this phase (no live file from the target): its figures come from the events file after the target exits, if at all")
    package static let noAllocationEvents = Finding(.noAllocationEvents, "the agent wrote no allocation events: the target ended without running its exit handlers (SIGKILL, _exit), or never allocated")

    /// Ctrl-C: the profiles were not made; the raw events stay in `eventsFile`.
    package static func profilesInterrupted(eventsFile: String) -> Finding {
        Finding(.profilesInterrupted, "allocation profiles not made: interrupted (the agent's raw events are kept in \(eventsFile))")
    }

    package static func profilesNotSymbolized(mapsPath: String) -> Finding {
        Finding(.profilesNotSymbolized, "allocation samples not symbolized: the child wrote no memory map (\(mapsPath)); it ended before exit")
    }

    package static func profilesNotWritten(_ error: String) -> Finding {
        Finding(.profilesNotWritten, "allocation profiles not written: \(error)")
    }

    /// What the sampling itself held resident (`bytes` over `threads` threads unwinding, `perThread` each).
    package static func unwinderMemory(_ bytes: Double, perThread: Double, threads: Int) -> String {
        "The allocation sampling held up to about \(Quantity.formatBytes(bytes)) resident outside the heap: libunwind keeps "
            + "a trace cache of \(Quantity.formatBytes(perThread)) in each thread that captures a stack, "
            + "and \(threads) such threads were alive at once; the RSS figures include it (HIGHWATER_AGENT_SAMPLE_BYTES=off counts without stacks)."
    }

    /// The profiles sum several processes.
    package static func processesSummed(_ pids: [Int32]) -> String {
        "The allocation profiles sum \(pids.count) processes: PIDs \(pids.map(String.init).joined(separator: ", "))."
    }

    package static func unnamedProcesses(_ pids: [Int32]) -> String {
        "Left out of the allocation profiles, with no memory map to name their frames: \(pids.map { "PID \($0)" }.joined(separator: ", "))."
    }

    /// Descendants that sampled for under a tenth of the longest: helpers, not workers (eight PIDs named at most).
    package static func shortLivedDescendants(_ pids: [Int32]) -> String {
        "Left out of the allocation profiles: \(pids.count) short-lived descendant\(pids.count == 1 ? "" : "s") (sampling for under a tenth of the longest), PIDs \(pids.prefix(8).map(String.init).joined(separator: ", "))\(pids.count > 8 ? ", …" : "")."
    }

    /// The sampling's own sentences (its memory, the processes summed or left out, Python) said as one note.
    package static func allocationSampling(_ sentences: [String]) -> Finding? {
        sentences.isEmpty ? nil : Finding(.allocationSampling, sentences.joined(separator: " "))
    }
}

/// What the agent found of a Python interpreter (PythonFrames): sentences of the sampling's note.
extension Finding {
    package static func pythonRecorded(version: String, pymalloc: Bool) -> String {
        "Python \(version): its frames are recorded beside the native ones (on threads holding the GIL); a Python site is "
            + "named `function (file:line)`."
            + (pymalloc ? " Objects of 512 bytes or less come from pymalloc's arenas, which the agent does not see: "
                + "PYTHONMALLOC=malloc in the target's environment shows them too." : "")
    }

    package static func pythonUnsupported(version: String) -> String {
        "Python \(version) ran, but the agent reads CPython 3.11's frames only: native frames only."
    }

    package static func pythonWithoutSymbols(version: String) -> String {
        "Python \(version) ran without the symbols the agent reads its frames through (_PyThreadState_UncheckedGet, "
            + "Py_IsInitialized, _Py_IsFinalizing, PyCode_Type, PyUnicode_Type, PyBytes_Type): native frames only."
    }

    package static func pythonOff(version: String) -> String {
        "Python \(version) ran; its frames were not recorded (HIGHWATER_AGENT_PYTHON=off)."
    }

    /// A process that mapped an interpreter at `path` the agent never found (static without exports, or stripped).
    package static func pythonNotFound(path: String) -> String {
        "\(path) ran, but the agent found none of the interpreter's symbols in it (linked statically "
            + "without exporting them, or stripped): native frames only."
    }
}
