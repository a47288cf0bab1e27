import HighwaterHost

/// Halves an RGBA image with a box filter on the executor's worker thread, the blocking pool a synchronous handler
/// runs on: each request makes its source image and its result, megabytes each, freed when it answers. How much of
/// that each worker's malloc arena keeps depends on how many workers the pool has.
struct ResizeImage: Handler {
    var width = 1024
    var height = 768

    func respond(to request: Request) throws -> Response {
        let source = Self.image(width: width, height: height, seed: max(0, request.index))
        let half = Self.halve(source, width: width, height: height)
        var sum = 0
        for i in stride(from: 0, to: half.count, by: 4096) { sum &+= Int(half[i]) }
        return Response(text: "resized \(width)x\(height) to \(width / 2)x\(height / 2), checksum \(sum)\n")
    }

    /// A test pattern, different for each request.
    static func image(width: Int, height: Int, seed: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: width * height * 4) { buffer, count in
            for y in 0..<height {
                for x in 0..<width {
                    let p = (y * width + x) * 4
                    buffer[p] = UInt8(truncatingIfNeeded: x &+ seed)
                    buffer[p + 1] = UInt8(truncatingIfNeeded: y &+ seed)
                    buffer[p + 2] = UInt8(truncatingIfNeeded: x ^ y)
                    buffer[p + 3] = 255
                }
            }
            count = width * height * 4
        }
    }

    /// Each pixel of the result is the mean of a 2x2 block of the source.
    static func halve(_ source: [UInt8], width: Int, height: Int) -> [UInt8] {
        let (w, h) = (width / 2, height / 2)
        return [UInt8](unsafeUninitializedCapacity: w * h * 4) { buffer, count in
            source.withUnsafeBufferPointer { s in
                for y in 0..<h {
                    for x in 0..<w {
                        let a = (2 * y * width + 2 * x) * 4, b = a + width * 4
                        for c in 0..<4 {
                            let total = Int(s[a + c]) + Int(s[a + 4 + c]) + Int(s[b + c]) + Int(s[b + 4 + c])
                            buffer[(y * w + x) * 4 + c] = UInt8(total / 4)
                        }
                    }
                }
            }
            count = w * h * 4
        }
    }
}
