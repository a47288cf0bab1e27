import HighwaterFuzzTargets
@preconcurrency import Glibc

// Built two ways. With `-D FUZZING -sanitize=fuzzer` (scripts/fuzz) libFuzzer supplies `main` and calls the entry
// points below; the target comes from HIGHWATER_FUZZ_TARGET. Built plainly (swift build) it is a replayer:
// `highwater-fuzz TARGET FILE…` runs each file through the target once, to reproduce a crash without libFuzzer.

#if FUZZING
nonisolated(unsafe) var selected: FuzzTarget?

/// libFuzzer's driver, for a program that keeps its own `main` (SwiftPM points `main` at the module's entry).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("highwater_fuzz_main")
package func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    let name = getenv("HIGHWATER_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget.named(name) else {
        let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
        fputs("highwater-fuzz: set HIGHWATER_FUZZ_TARGET to one of: \(names)\n", stderr)
        return 2
    }
    selected = target
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        selected?.run(UnsafeBufferPointer(start: data, count: size))
        return 0
    }
}
#else
@main
struct FuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget.named(name) else {
            let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
            fputs("usage: highwater-fuzz TARGET FILE…  (targets: \(names))\n", stderr)
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let bytes = FuzzInput.read(path) else { fputs("highwater-fuzz: cannot read \(path)\n", stderr); exit(2) }
            bytes.withUnsafeBufferPointer { target.run($0) }
            print("\(name) \(path): ok")
        }
    }
}
#endif
