import CZlib

/// An allocation profile as pprof's protobuf (`profile.proto`, the format of Go's heap profiles), gzipped, so
/// `go tool pprof`, Pyroscope and Parca read it: sample types `alloc_objects`, `alloc_space`, `inuse_objects`,
/// `inuse_space`; one location per frame name, the stack leaf first (a Python frame's with its file and line, and a
/// Python stack's leaf its innermost Python frame). The encoder is hand-written: five messages and two wire types are
/// all the format needs.
package enum PprofProfile {
    package static func gzipped(_ profile: AllocationProfile, durationNs: UInt64 = 0) -> [UInt8] {
        Gzip.compressed(encode(profile, durationNs: durationNs))
    }

    package static func encode(_ profile: AllocationProfile, durationNs: UInt64 = 0) -> [UInt8] {
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
        // A location per distinct frame name; a function per native name, and per Python function and file (its
        // locations then differ by line).
        struct FunctionKey: Hashable { var name: String; var file: String }
        var locationIDs: [String: Int] = [:]
        var locations: [(function: Int, line: Int)] = []
        var functionIDs: [FunctionKey: Int] = [:]
        var functions: [(key: FunctionKey, firstLine: Int)] = []
        func location(_ name: String) -> Int {
            if let known = locationIDs[name] { return known }
            let python = profile.pythonFrames[name]
            let key = FunctionKey(name: python?.function ?? name, file: python?.file ?? "")
            let function: Int
            if let known = functionIDs[key] { function = known } else {
                functions.append((key, python?.firstLine ?? 0))
                function = functions.count
                functionIDs[key] = function
            }
            locations.append((function, python?.line ?? 0))
            locationIDs[name] = locations.count
            return locations.count
        }
        for stack in profile.stacks {
            var sample = Protobuf()
            sample.packed(1, pprofFrames(stack.frames, profile).reversed().map { UInt64(location($0)) })
            let values = [stack.allocCount, stack.allocBytes, stack.retainedCount, stack.retainedBytes]
            sample.packed(2, values.map { UInt64(bitPattern: Int64($0.rounded())) })
            out.message(2, sample)
        }
        for (index, at) in locations.enumerated() {
            var line = Protobuf()
            line.int(1, at.function)
            line.int(2, at.line)
            var location = Protobuf()
            location.int(1, index + 1)
            location.message(4, line)
            out.message(4, location)
        }
        for (index, function) in functions.enumerated() {
            var message = Protobuf()
            message.int(1, index + 1)
            message.int(2, string(function.key.name))
            // A Python function has no system name: pprof demangles a name equal to it, which made `<module>` `<unknown>`.
            if function.key.file.isEmpty { message.int(3, string(function.key.name)) }
            message.int(4, string(function.key.file))
            message.int(5, function.firstLine)
            out.message(5, message)
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

extension PprofProfile {
    /// A stack's frames as pprof gets them (outermost first): in a stack with Python frames, the interpreter's C functions
    /// under the innermost one are left out, so pprof's flat column (the leaf) names the Python line, as the site does;
    /// the folded stacks keep them. With `pythonOnly`, the Python frames alone.
    static func pprofFrames(_ frames: [String], _ profile: AllocationProfile) -> [String] {
        guard !profile.pythonFrames.isEmpty, let leaf = frames.lastIndex(where: { profile.pythonFrames[$0] != nil }) else { return frames }
        let kept = frames[...leaf]
        return profile.pythonOnly ? kept.filter { profile.pythonFrames[$0] != nil } : Array(kept)
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
