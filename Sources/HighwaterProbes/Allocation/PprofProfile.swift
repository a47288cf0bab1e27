/// An allocation profile as pprof's protobuf (`profile.proto`, the format of Go's heap profiles), gzipped, so
/// `go tool pprof`, Pyroscope and Parca read it: sample types `alloc_objects`, `alloc_space`, `inuse_objects`,
/// `inuse_space`; one location per function name, the stack leaf first. The encoder is hand-written: five
/// messages and two wire types are all the format needs.
public enum PprofProfile {
    public static func gzipped(_ profile: AllocationProfile, durationNs: UInt64 = 0) -> [UInt8] {
        Gzip.stored(encode(profile, durationNs: durationNs))
    }

    public static func encode(_ profile: AllocationProfile, durationNs: UInt64 = 0) -> [UInt8] {
        var strings: [String] = [""]
        var stringIndex: [String: Int] = ["": 0]
        func string(_ s: String) -> Int {
            if let i = stringIndex[s] { return i }
            strings.append(s)
            stringIndex[s] = strings.count - 1
            return strings.count - 1
        }
        var out = Protobuf()
        for (type, unit) in [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")] {
            var valueType = Protobuf()
            valueType.int(1, string(type))
            valueType.int(2, string(unit))
            out.message(1, valueType)
        }
        // Functions and their locations share ids, one per distinct frame name.
        var functionIDs: [String: Int] = [:]
        var functions: [String] = []
        for stack in profile.stacks {
            var sample = Protobuf()
            var ids: [UInt64] = []
            for name in stack.frames.reversed() {
                let id: Int
                if let known = functionIDs[name] { id = known } else {
                    functions.append(name)
                    id = functions.count
                    functionIDs[name] = id
                }
                ids.append(UInt64(id))
            }
            sample.packed(1, ids)
            let values = [stack.allocCount, stack.allocBytes, stack.retainedCount, stack.retainedBytes]
            sample.packed(2, values.map { UInt64(bitPattern: Int64($0.rounded())) })
            out.message(2, sample)
        }
        for index in functions.indices {
            var line = Protobuf()
            line.int(1, index + 1)
            var location = Protobuf()
            location.int(1, index + 1)
            location.message(4, line)
            out.message(4, location)
        }
        for (index, name) in functions.enumerated() {
            var function = Protobuf()
            function.int(1, index + 1)
            function.int(2, string(name))
            function.int(3, string(name))
            out.message(5, function)
        }
        var periodType = Protobuf()
        periodType.int(1, string("space"))
        periodType.int(2, string("bytes"))
        let defaultType = string("inuse_space")
        for s in strings { out.bytes(6, Array(s.utf8)) }
        if durationNs > 0 { out.int(10, Int(durationNs)) }
        out.message(11, periodType)
        out.int(12, Int(max(profile.interval, 1)))
        out.int(14, defaultType)
        return out.bytes
    }
}

/// Protocol buffers' wire format, as far as pprof needs it: varints, length-delimited fields, packed varints.
struct Protobuf {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func int(_ field: Int, _ value: Int) {
        guard value != 0 else { return }  // proto3 leaves zeros out
        varint(UInt64(field << 3))
        varint(UInt64(bitPattern: Int64(value)))
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        varint(UInt64(field << 3 | 2))
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func message(_ field: Int, _ value: Protobuf) { bytes(field, value.bytes) }

    mutating func packed(_ field: Int, _ values: [UInt64]) {
        var inner = Protobuf()
        for v in values { inner.varint(v) }
        bytes(field, inner.bytes)
    }
}

/// gzip (RFC 1952) of deflate's stored blocks: a valid .gz any reader opens, without a compressor; a profile
/// is small, so the size given up is a few KiB.
enum Gzip {
    static func stored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]
        var at = 0
        repeat {
            let n = min(65535, data.count - at)
            let last: UInt8 = at + n == data.count ? 1 : 0
            out += [last, UInt8(n & 0xff), UInt8(n >> 8), UInt8(~n & 0xff), UInt8((~n >> 8) & 0xff)]
            out += data[at..<(at + n)]
            at += n
        } while at < data.count
        let crc = crc32(data), size = UInt32(truncatingIfNeeded: data.count)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8((crc >> UInt32(shift)) & 0xff)) }
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8((size >> UInt32(shift)) & 0xff)) }
        return out
    }

    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
