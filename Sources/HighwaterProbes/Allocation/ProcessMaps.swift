import HighwaterSystem

/// A process's memory map as `/proc/PID/maps` lists it: which file each address range comes from.
package struct ProcessMaps: Sendable {
    package struct Mapping: Sendable, Equatable {
        package var start: UInt64
        package var end: UInt64
        /// Where in the file the range begins.
        package var fileOffset: UInt64
        package var path: String
    }

    /// The file-backed ranges, sorted by start.
    package var mappings: [Mapping]

    package init(text: String) {
        var out: [Mapping] = []
        for line in text.split(separator: "\n") {
            // start-end perms offset dev inode path
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6 else { continue }
            let path = fields[5].drop { $0 == " " }
            guard path.hasPrefix("/") else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
                  let offset = UInt64(fields[2], radix: 16) else { continue }
            out.append(Mapping(start: start, end: end, fileOffset: offset, path: String(path)))
        }
        mappings = out.sorted { $0.start < $1.start }
    }

    /// The mapping holding address, and the address's offset in that mapping's file.
    package func locate(_ address: UInt64) -> (mapping: Mapping, fileOffset: UInt64)? {
        let low = mappings.partitionPoint { $0.start <= address }
        guard low > 0 else { return nil }
        let m = mappings[low - 1]
        guard address < m.end else { return nil }
        return (m, address - m.start + m.fileOffset)
    }
}
