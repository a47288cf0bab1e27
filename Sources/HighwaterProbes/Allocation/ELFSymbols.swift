@preconcurrency import Glibc
import HighwaterSystem

/// The function symbols of one ELF file (its `.symtab`, else `.dynsym`), read from the file on disk so
/// addresses of another process, or of one that has ended, can be named. 64-bit little-endian only.
public final class ELFSymbols: @unchecked Sendable {
    private struct Symbol { var start: UInt64; var size: UInt64; var name: Int }
    private struct Segment { var fileOffset: UInt64; var size: UInt64; var address: UInt64 }

    private var symbols: [Symbol] = []
    private var segments: [Segment] = []
    /// The file, mapped: symbol names are read from it when asked for.
    private var file: MappedFile?
    private var base: UnsafeRawPointer? { file?.bytes.baseAddress }
    private var length: Int { file?.bytes.count ?? 0 }

    /// nil when the file cannot be read or is not a 64-bit little-endian ELF file.
    public init?(path: String) {
        guard let file = try? MappedFile(path: path), let headers = Self.programHeaders(file.bytes) else { return nil }
        self.file = file
        segments = headers.segments
        let shoff = Int(read(UInt64.self, 0x28))
        let shentsize = Int(read(UInt16.self, 0x3A)), shnum = Int(read(UInt16.self, 0x3C))
        // .symtab when the file has one (every symbol), .dynsym otherwise (the exported ones).
        for wanted: UInt32 in [2, 11] where symbols.isEmpty {
            for i in 0..<shnum {
                let s = shoff + i * shentsize
                guard s + 64 <= length, read(UInt32.self, s + 4) == wanted else { continue }
                let offset = Int(read(UInt64.self, s + 0x18)), size = Int(read(UInt64.self, s + 0x20))
                let link = Int(read(UInt32.self, s + 0x28))
                let strings = shoff + link * shentsize
                guard strings + 64 <= length else { continue }
                let stringsOffset = Int(read(UInt64.self, strings + 0x18))
                var e = offset
                while e + 24 <= min(offset + size, length) {
                    let info = read(UInt8.self, e + 4)
                    let value = read(UInt64.self, e + 8)
                    if info & 0xf == 2, value != 0 {  // STT_FUNC
                        symbols.append(Symbol(start: value, size: read(UInt64.self, e + 16),
                                              name: stringsOffset + Int(read(UInt32.self, e))))
                    }
                    e += 24
                }
            }
        }
        symbols.sort { $0.start < $1.start }
    }

    /// Whether the file names a program interpreter (PT_INTERP): the dynamic loader runs for it, so LD_PRELOAD can
    /// take. Reads the ELF header and the program headers, not the symbol tables.
    public static func hasInterpreter(path: String) -> Bool {
        guard let file = try? MappedFile(path: path) else { return false }
        return programHeaders(file.bytes)?.interpreter ?? false
    }

    /// The loadable segments and whether there is a PT_INTERP; nil when the bytes are not a 64-bit little-endian ELF file.
    private static func programHeaders(_ bytes: UnsafeRawBufferPointer) -> (interpreter: Bool, segments: [Segment])? {
        func read<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T { Self.read(type, offset, in: bytes) }
        guard bytes.count > 64, read(UInt32.self, 0) == 0x464C_457F, read(UInt8.self, 4) == 2, read(UInt8.self, 5) == 1 else { return nil }
        let phoff = Int(read(UInt64.self, 0x20))
        let phentsize = Int(read(UInt16.self, 0x36)), phnum = Int(read(UInt16.self, 0x38))
        var interpreter = false, segments: [Segment] = []
        for i in 0..<phnum {
            let p = phoff + i * phentsize
            if p + 4 <= bytes.count, read(UInt32.self, p) == 3 { interpreter = true }  // PT_INTERP
            guard p + 56 <= bytes.count, read(UInt32.self, p) == 1 else { continue }  // PT_LOAD
            segments.append(Segment(fileOffset: read(UInt64.self, p + 8), size: read(UInt64.self, p + 32),
                                    address: read(UInt64.self, p + 16)))
        }
        return (interpreter, segments)
    }

    private static func read<T: FixedWidthInteger>(_: T.Type, _ offset: Int, in bytes: UnsafeRawBufferPointer) -> T {
        guard let base = bytes.baseAddress, offset >= 0, offset + MemoryLayout<T>.size <= bytes.count else { return 0 }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    private func read<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T {
        file.map { Self.read(type, offset, in: $0.bytes) } ?? 0
    }

    /// The function holding the byte at `fileOffset` of the file, and how far into it; nil when none does.
    public func function(atFileOffset fileOffset: UInt64) -> (name: String, offset: UInt64)? {
        guard let segment = segments.first(where: { fileOffset >= $0.fileOffset && fileOffset < $0.fileOffset + $0.size }) else { return nil }
        let address = fileOffset - segment.fileOffset + segment.address
        let low = symbols.partitionPoint { $0.start <= address }
        guard low > 0 else { return nil }
        let s = symbols[low - 1]
        guard address < s.start + max(s.size, 1) || s.size == 0, let base, s.name < length else { return nil }
        let name = String(cString: base.advanced(by: s.name).assumingMemoryBound(to: CChar.self))
        return (name, address - s.start)
    }
}
