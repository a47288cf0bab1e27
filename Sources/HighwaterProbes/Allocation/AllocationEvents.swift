@preconcurrency import Glibc

/// The sampled allocations the agent wrote to `HIGHWATER_AGENT_OUT`: each sample's block, size, thread,
/// time and return addresses, and whether the block was freed by the end.
public struct AllocationEvents: Sendable {
    public struct Sample: Sendable {
        public var address: UInt64
        /// Usable bytes of the block.
        public var size: UInt64
        public var tid: Int32
        public var tNs: UInt64
        /// Return addresses, innermost first (the agent's own frames included).
        public var stack: [UInt64]
        public var freed: Bool
    }

    /// Bytes between samples on average; 0 when every allocation was recorded.
    public var interval: Int64
    public var pid: Int32
    public var samples: [Sample]

    public enum ReadError: Error, CustomStringConvertible {
        case notAnEventsFile(String)
        public var description: String {
            switch self {
            case .notAnEventsFile(let path): return "\(path) is not an allocation events file (no HWEVENT1 header)"
            }
        }
    }

    /// Parses the file's bytes; a record cut short (a process killed mid-write) ends the list.
    public init(bytes: [UInt8], path: String) throws {
        guard bytes.count >= 24, bytes[0..<8].elementsEqual("HWEVENT1".utf8) else { throw ReadError.notAnEventsFile(path) }
        func u64(_ at: Int) -> UInt64 {
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[at + k]) << (8 * k) }
            return v
        }
        func u32(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 { v |= UInt32(bytes[at + k]) << (8 * k) }
            return v
        }
        interval = Int64(bitPattern: u64(8))
        pid = Int32(bitPattern: u32(16))
        var samples: [Sample] = []
        // The live sample at each address: a free ends the latest one there.
        var live: [UInt64: Int] = [:]
        var at = 24
        while at + 32 <= bytes.count {
            let kindDepth = u32(at)
            let kind = kindDepth & 0xff, depth = Int(kindDepth >> 8)
            let end = at + 32 + depth * 8
            guard end <= bytes.count, depth <= 1024 else { break }
            let address = u64(at + 8)
            if kind == 1 {
                let stack = (0..<depth).map { u64(at + 32 + $0 * 8) }
                live[address] = samples.count
                samples.append(Sample(address: address, size: u64(at + 16), tid: Int32(bitPattern: u32(at + 4)),
                                      tNs: u64(at + 24), stack: stack, freed: false))
            } else if kind == 2, let index = live.removeValue(forKey: address) {
                samples[index].freed = true
            }
            at = end
        }
        self.samples = samples
    }

    /// How many allocations, and how many bytes, one sample of `size` bytes stands for: 1/p each, where p is
    /// the chance that a block of that size is sampled (1 - e^(-size/interval)), as tcmalloc scales.
    public func weight(size: UInt64) -> (count: Double, bytes: Double) {
        guard interval > 0, size > 0 else { return (1, Double(size)) }
        let p = 1 - Glibc.exp(-Double(size) / Double(interval))
        return (1 / p, Double(size) / p)
    }
}

