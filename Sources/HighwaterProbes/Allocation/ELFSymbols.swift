@preconcurrency import Glibc
import HighwaterSystem

/// The function symbols of one ELF file (its `.symtab`, else `.dynsym`), read from the file on disk so
/// addresses of another process, or of one that has ended, can be named. 64-bit little-endian only.
///
/// Every offset, size and count comes from the file and may be anything (a crafted file as the command of
/// `sample --agent`): all arithmetic on them is checked, and a read outside the file reads nothing.
package final class ELFSymbols: @unchecked Sendable {
    private struct Symbol { var start: UInt64; var size: UInt64; var name: Int }
    private struct Segment { var fileOffset: UInt64; var size: UInt64; var address: UInt64 }

    private var symbols: [Symbol] = []
    private var segments: [Segment] = []
    /// What keeps `bytes` valid: the mapped file, or the caller's buffer for `parse`.
    private let owner: AnyObject?
    private let bytes: ELFBytes

    /// nil when the file cannot be read (not a regular file included) or is not a 64-bit little-endian ELF file.
    package convenience init?(path: String) {
        guard let file = try? MappedFile(path: path) else { return nil }
        self.init(bytes: file.bytes, owner: file)
    }

    private init?(bytes raw: UnsafeRawBufferPointer, owner: AnyObject?) {
        let bytes = ELFBytes(raw)
        guard let headers = Self.programHeaders(bytes) else { return nil }
        self.owner = owner
        self.bytes = bytes
        segments = headers.segments
        let shoff = bytes.read(UInt64.self, 0x28)
        let shentsize = UInt64(bytes.read(UInt16.self, 0x3A)), shnum = UInt64(bytes.read(UInt16.self, 0x3C))
        // .symtab when the file has one (every symbol), .dynsym otherwise (the exported ones). The first table of
        // each kind only: a file has one, and a crafted one listing the same table 65535 times costs no more.
        for wanted: UInt32 in [2, 11] where symbols.isEmpty {
            for i in 0..<shnum {
                guard let s = bytes.offset(shoff, plus: i * shentsize, within: 64), bytes.read(UInt32.self, s + 4) == wanted else { continue }
                let offset = bytes.read(UInt64.self, s + 0x18), size = bytes.read(UInt64.self, s + 0x20)
                let link = UInt64(bytes.read(UInt32.self, s + 0x28))
                guard link < shnum, let strings = bytes.offset(shoff, plus: link * shentsize, within: 64) else { continue }
                let stringsOffset = bytes.read(UInt64.self, strings + 0x18)
                guard offset < UInt64(bytes.count) else { continue }
                let end = min(UInt64(bytes.count), offset.addingReportingOverflow(size).overflow ? UInt64.max : offset + size)
                var e = offset
                while e + 24 <= end {
                    let info = bytes.read(UInt8.self, e + 4)
                    let value = bytes.read(UInt64.self, e + 8)
                    let (name, overflow) = stringsOffset.addingReportingOverflow(UInt64(bytes.read(UInt32.self, e)))
                    if info & 0xf == 2, value != 0, !overflow, name < UInt64(bytes.count) {  // STT_FUNC
                        symbols.append(Symbol(start: value, size: bytes.read(UInt64.self, e + 16), name: Int(name)))
                    }
                    e += 24
                }
                break
            }
        }
        symbols.sort { $0.start < $1.start }
    }

    /// Parses `bytes` as a file and names a few offsets in it: the fuzz target's entry, kept here so it drives
    /// exactly what a file on disk goes through.
    package static func parse(_ bytes: UnsafeRawBufferPointer, naming offsets: [UInt64]) -> [String] {
        guard let symbols = ELFSymbols(bytes: bytes, owner: nil) else { return [] }
        _ = hasInterpreter(bytes)
        return offsets.compactMap { symbols.function(atFileOffset: $0)?.name }
    }

    /// Whether the file names a program interpreter (PT_INTERP): the dynamic loader runs for it, so LD_PRELOAD can
    /// take. Reads the ELF header and the program headers, not the symbol tables. False when the file cannot be read.
    package static func hasInterpreter(path: String) -> Bool {
        guard let file = try? MappedFile(path: path) else { return false }
        return hasInterpreter(file.bytes)
    }

    private static func hasInterpreter(_ raw: UnsafeRawBufferPointer) -> Bool {
        programHeaders(ELFBytes(raw))?.interpreter ?? false
    }

    /// The loadable segments and whether there is a PT_INTERP; nil when the bytes are not a 64-bit little-endian ELF file.
    private static func programHeaders(_ bytes: ELFBytes) -> (interpreter: Bool, segments: [Segment])? {
        guard bytes.count > 64, bytes.read(UInt32.self, 0) == 0x464C_457F, bytes.read(UInt8.self, 4) == 2,
              bytes.read(UInt8.self, 5) == 1 else { return nil }
        let phoff = bytes.read(UInt64.self, 0x20)
        let phentsize = UInt64(bytes.read(UInt16.self, 0x36)), phnum = UInt64(bytes.read(UInt16.self, 0x38))
        var interpreter = false, segments: [Segment] = []
        for i in 0..<phnum {
            guard let p = bytes.offset(phoff, plus: i * phentsize, within: 4) else { break }
            let type = bytes.read(UInt32.self, p)
            if type == 3 { interpreter = true }  // PT_INTERP
            guard type == 1, bytes.offset(p, plus: 0, within: 56) != nil else { continue }  // PT_LOAD
            segments.append(Segment(fileOffset: bytes.read(UInt64.self, p + 8), size: bytes.read(UInt64.self, p + 32),
                                    address: bytes.read(UInt64.self, p + 16)))
        }
        return (interpreter, segments)
    }

    /// The function holding the byte at `fileOffset` of the file, and how far into it; nil when none does.
    package func function(atFileOffset fileOffset: UInt64) -> (name: String, offset: UInt64)? {
        guard let segment = segments.first(where: { fileOffset >= $0.fileOffset && fileOffset - $0.fileOffset < $0.size }) else { return nil }
        let address = (fileOffset - segment.fileOffset) &+ segment.address
        let low = symbols.partitionPoint { $0.start <= address }
        guard low > 0 else { return nil }
        let s = symbols[low - 1]
        guard address - s.start < max(s.size, 1) || s.size == 0, let name = bytes.cString(at: s.name) else { return nil }
        return (name, address - s.start)
    }
}

/// The file's bytes, read little-endian at offsets from the file: a read past either end reads zero.
private struct ELFBytes {
    let raw: UnsafeRawBufferPointer
    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }
    var count: Int { raw.count }

    func read<T: FixedWidthInteger>(_: T.Type, _ offset: UInt64) -> T {
        guard let base = raw.baseAddress, offset <= UInt64(raw.count),
              UInt64(raw.count) - offset >= UInt64(MemoryLayout<T>.size) else { return 0 }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: Int(offset), as: T.self))
    }

    /// `base + delta`, when it and the `length` bytes after it lie inside the file; nil on overflow or past the end.
    func offset(_ base: UInt64, plus delta: UInt64, within length: UInt64) -> UInt64? {
        let (start, overflow) = base.addingReportingOverflow(delta)
        guard !overflow, start <= UInt64(raw.count), UInt64(raw.count) - start >= length else { return nil }
        return start
    }

    /// The NUL-terminated string at `offset`, cut at the end of the file when it has no NUL.
    func cString(at offset: Int) -> String? {
        guard offset >= 0, offset < raw.count else { return nil }
        let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
        let end = rest.firstIndex(of: 0) ?? rest.count
        return String(decoding: UnsafeRawBufferPointer(rebasing: rest[..<end]), as: UTF8.self)
    }
}
