import CZlib

/// An allocation profile as pprof's protobuf (`profile.proto`, the format of Go's heap profiles), gzipped, so
/// `go tool pprof`, Pyroscope and Parca read it: sample types `alloc_objects`, `alloc_space`, `inuse_objects`,
/// `inuse_space`; one location per function name, the stack leaf first. The encoder is hand-written: five
/// messages and two wire types are all the format needs.
public enum PprofProfile {
    public static func gzipped(_ profile: AllocationProfile, durationNs: UInt64 = 0) -> [UInt8] {
        Gzip.compressed(encode(profile, durationNs: durationNs))
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

/// gzip (RFC 1952) through zlib: deflate with a gzip wrapper (window bits 15 + 16).
enum Gzip {
    static func compressed(_ data: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            preconditionFailure("zlib refused its own defaults")
        }
        defer { deflateEnd(&stream) }
        var input = data
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))))
        let written: Int = input.withUnsafeMutableBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                // deflateBound is enough for one Z_FINISH call: it returns Z_STREAM_END at once.
                let rc = deflate(&stream, Z_FINISH)
                precondition(rc == Z_STREAM_END, "zlib's deflate ended with \(rc) within its own bound")
                return outBuf.count - Int(stream.avail_out)
            }
        }
        return Array(out.prefix(written))
    }
}
