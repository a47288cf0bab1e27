/// Names the return addresses a process recorded, from its memory map and the symbol tables of the files
/// mapped there, after the process has run: Swift names demangled by the runtime, a frame no symbol covers
/// kept as `module+0xoffset`.
package final class Symbolizer {
    /// The symbol tables of files, read once each: shared by the symbolizers of processes that map the same
    /// libraries (a server and its workers).
    package final class Files {
        var tables: [String: ELFSymbols?] = [:]
        package init() {}

        func symbols(_ path: String) -> ELFSymbols? {
            if let cached = tables[path] { return cached }
            let symbols = ELFSymbols(path: path)
            tables[path] = symbols
            return symbols
        }
    }

    private let maps: ProcessMaps
    private let files: Files
    private var names: [UInt64: Frame] = [:]

    package struct Frame: Sendable, Equatable {
        /// The demangled function name, or `module+0xoffset`.
        package var name: String
        /// The file the address is in ("" when no mapping holds it).
        package var module: String
    }

    package init(maps: ProcessMaps, files: Files = Files()) {
        self.maps = maps
        self.files = files
    }

    package func frame(_ address: UInt64) -> Frame {
        if let known = names[address] { return known }
        // A return address points after its call: the call is the byte before.
        let lookup = address > 0 ? address - 1 : address
        var frame = Frame(name: "0x" + String(address, radix: 16), module: "")
        if let (mapping, offset) = maps.locate(lookup) {
            let symbols = files.symbols(mapping.path)
            let module = mapping.path.split(separator: "/").last.map(String.init) ?? mapping.path
            if let (name, _) = symbols?.function(atFileOffset: offset) {
                frame = Frame(name: StackCapture.demangle(name), module: mapping.path)
            } else {
                frame = Frame(name: "\(module)+0x\(String(offset, radix: 16))", module: mapping.path)
            }
        }
        names[address] = frame
        return frame
    }
}
