import HighwaterRecords

/// The Python side of the agent's samples (AgentPython.c): the interpreter it found, the code objects it named,
/// and the words of a stack that are Python frames rather than return addresses.
package enum PythonFrames {
    /// A stack word above every user-space address: bits 54-24 a code object's id, 23-0 its instruction (code units);
    /// `entry` marks the outermost frame one native activation of the evaluation loop ran.
    static let tag: UInt64 = 0xFE00_0000_0000_0000
    static func isPython(_ word: UInt64) -> Bool { word >> 56 == 0xFE }
    static func codeID(_ word: UInt64) -> UInt64 { (word >> 24) & 0x7FFF_FFFF }
    static func instruction(_ word: UInt64) -> Int { Int(word & 0xFF_FFFF) }
    static func isEntry(_ word: UInt64) -> Bool { word & (1 << 55) != 0 }

    /// The native frame a group of Python frames stands in for: one activation of it runs them.
    package static let evaluationLoop = "_PyEval_EvalFrameDefault"

    /// The interpreter a process ran, as the agent found it (its PYTHON record).
    package struct Interpreter: Sendable, Equatable {
        package enum State: UInt64, Sendable {
            case recorded = 1, unsupported = 2, noSymbols = 3, off = 4
        }
        /// `Py_Version`'s encoding (0x030B07F0: 3.11.7).
        package var version: UInt64
        package var state: State
        /// HIGHWATER_AGENT_PYTHON=only: the folded stacks keep Python frames alone.
        package var pythonOnly: Bool
        /// pymalloc served the objects of 512 bytes or less, which never reach malloc.
        package var pymalloc: Bool

        package var versionText: String {
            "\(version >> 24).\((version >> 16) & 0xff).\((version >> 8) & 0xff)"
        }

        init?(version: UInt64, status: UInt64) {
            guard let state = State(rawValue: status & 0xff) else { return nil }
            self.version = version
            self.state = state
            pythonOnly = status & (1 << 8) != 0
            pymalloc = status & (1 << 9) != 0
        }

        /// A sentence for the run's notes.
        package var note: String {
            switch state {
            case .recorded: Finding.pythonRecorded(version: versionText, pymalloc: pymalloc)
            case .unsupported: Finding.pythonUnsupported(version: versionText)
            case .noSymbols: Finding.pythonWithoutSymbols(version: versionText)
            case .off: Finding.pythonOff(version: versionText)
            }
        }
    }

    /// A note for a process that mapped a Python interpreter the agent never found (a static build that exports no
    /// symbols, a stripped one): nil when none is mapped.
    package static func unfoundNote(maps: ProcessMaps) -> String? {
        guard let python = maps.mappings.first(where: { mapping in
            let name = mapping.path.split(separator: "/").last.map(String.init) ?? ""
            return name.hasPrefix("libpython3") || name.hasPrefix("python3") || name == "python"
        }) else { return nil }
        return Finding.pythonNotFound(path: python.path)
    }

    /// What the run's notes say of Python, once for all the processes that ran the same: the interpreter each found,
    /// or the one each mapped without the agent finding it.
    package static func notes(_ processes: [(events: AllocationEvents, maps: ProcessMaps)]) -> [String] {
        var notes: [String] = []
        for (events, maps) in processes {
            guard let note = events.python?.note ?? unfoundNote(maps: maps), !notes.contains(note) else { continue }
            notes.append(note)
        }
        return notes
    }

    /// A code object as the agent wrote it once: names, first line and line table.
    package struct Code: Sendable {
        package var qualname: String
        package var filename: String
        package var firstLine: Int
        /// CPython 3.11's location table (`co_linetable`), possibly cut short by the agent.
        package var lineTable: [UInt8]

        package init(qualname: String, filename: String, firstLine: Int, lineTable: [UInt8]) {
            self.qualname = qualname; self.filename = filename; self.firstLine = firstLine; self.lineTable = lineTable
        }

        /// The line of the instruction at `instruction` (code units), from the location table (CPython's
        /// Objects/locations.md); the first line when the table has no location for it.
        package func line(at instruction: Int) -> Int {
            var line = firstLine, address = 0, at = 0
            let table = lineTable
            func varint() -> Int {
                var value = 0, shift = 0
                while at < table.count {
                    let b = Int(table[at]); at += 1
                    value |= (b & 0x3f) << shift
                    shift += 6
                    if b & 0x40 == 0 { break }
                }
                return value
            }
            func signed() -> Int { let v = varint(); return v & 1 != 0 ? -(v >> 1) : v >> 1 }
            while at < table.count {
                let first = Int(table[at]); at += 1
                guard first & 0x80 != 0 else { break }
                let code = (first >> 3) & 15, length = (first & 7) + 1
                var located = true
                switch code {
                case 15: located = false
                case 14: line += signed(); _ = varint(); _ = varint(); _ = varint()
                case 13: line += signed()
                case 10...12: line += code - 10; at += 2
                default: at += 1
                }
                if instruction < address + length { return located ? line : firstLine }
                address += length
            }
            return firstLine
        }
    }

    /// Where a Python frame is: its function, file and line.
    package struct Location: Sendable, Hashable {
        package var function: String
        package var file: String
        package var line: Int
        package var firstLine: Int
        /// The frame's name in stacks and sites.
        package var name: String { "\(function) (\(file):\(line))" }
    }
}
