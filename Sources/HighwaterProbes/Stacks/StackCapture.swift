@preconcurrency import Glibc
import CHighwater

/// One frame of a captured stack, symbolized.
package struct StackFrame: Equatable, Sendable {
    package var address: UInt
    /// The demangled name, or nil where no symbol covers the address.
    package var symbol: String?
    package var offset: UInt
    /// The shared object that holds the address.
    package var image: String?

    package var description: String {
        let hex = "0x" + String(address, radix: 16)
        let name = symbol.map { "\($0) + \(offset)" } ?? "???"
        let where_ = image.map { " (\($0.split(separator: "/").last.map(String.init) ?? $0))" } ?? ""
        return "\(hex) \(name)\(where_)"
    }
}

/// Call stacks of the current thread, captured with libunwind.
///
/// Capture is cheap (return addresses only); symbolizing and demangling are slow and belong
/// off the hot path, when a report is written.
package enum StackCapture {
    /// Return addresses of the caller's stack, innermost first.
    @inline(never)
    package static func addresses(maxDepth: Int = 64, skip: Int = 0) -> [UInt] {
        [UInt](unsafeUninitializedCapacity: maxDepth) { buffer, count in
            count = Int(hw_capture_stack(buffer.baseAddress, Int32(maxDepth), Int32(skip)))
        }
    }

    /// Names each address: libunwind's procedure name first, the dynamic symbol table second.
    package static func symbolize(_ addresses: [UInt]) -> [StackFrame] {
        var name = [CChar](repeating: 0, count: 1024)
        return addresses.map { address in
            var offset: UInt = 0
            var symbol: String?
            // A return address points after the call; look up the byte before it.
            let lookup = address > 0 ? address - 1 : address
            if hw_symbolize(lookup, &name, name.count, &offset) == 0 {
                symbol = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                offset += 1
            }
            var imageName: UnsafePointer<CChar>?
            var symbolName: UnsafePointer<CChar>?
            var symbolAddress: UInt = 0
            var image: String?
            if hw_dladdr(lookup, &imageName, &symbolName, &symbolAddress) != 0 {
                image = imageName.map { String(cString: $0) }
                if symbol == nil, let symbolName, symbolAddress != 0 {
                    symbol = String(cString: symbolName)
                    offset = address - symbolAddress
                }
            }
            return StackFrame(address: address, symbol: symbol.map(demangle), offset: offset, image: image)
        }
    }

    /// Captures and symbolizes the caller's stack.
    @inline(never)
    package static func current(maxDepth: Int = 64) -> [StackFrame] {
        symbolize(addresses(maxDepth: maxDepth, skip: 1))
    }

    /// Swift names demangled by the Swift runtime, C++ names (`_Z…`) by the C++ runtime's `__cxa_demangle`
    /// (libstdc++, which the Swift runtime loads on Linux); others returned as they are.
    package static func demangle(_ symbol: String) -> String {
        if symbol.hasPrefix("_Z") {
            return symbol.withCString { raw in
                var status: Int32 = 0
                guard let demangle = cxaDemangle, let out = demangle(raw, nil, nil, &status), status == 0 else { return symbol }
                defer { free(out) }
                return String(cString: out)
            }
        }
        guard symbol.hasPrefix("$s") || symbol.hasPrefix("_$s") || symbol.hasPrefix("$S") else { return symbol }
        return symbol.withCString { raw in
            guard let out = swift_demangle(raw, strlen(raw), nil, nil, 0) else { return symbol }
            defer { free(out) }
            return String(cString: out)
        }
    }
}

@_silgen_name("swift_demangle")
private func swift_demangle(_ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: Int,
                            _ outputBuffer: UnsafeMutablePointer<CChar>?, _ outputBufferSize: UnsafeMutablePointer<Int>?,
                            _ flags: UInt32) -> UnsafeMutablePointer<CChar>?

/// libstdc++'s demangler, found at run time (the Swift runtime loads libstdc++ on Linux; nothing here links it):
/// nil when it is not loaded, and C++ names are then kept as they are.
private let cxaDemangle: (@convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?,
                                           UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>?)? = {
    guard let symbol = dlsym(nil, "__cxa_demangle") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?,
                                                      UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>?).self)
}()
