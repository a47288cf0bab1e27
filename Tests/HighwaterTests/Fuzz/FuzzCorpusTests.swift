@preconcurrency import Glibc
import HighwaterFuzzTargets
import HighwaterProbes
import Testing

/// The committed fuzz corpus, replayed: every seed and every input that once crashed a parser (fuzz/TARGET/regressions)
/// goes through its target again. A trap ends the test process, so a regression fails the suite.
@Suite struct FuzzCorpusTests {
    /// The package root, from this file's place in it.
    static let root: String = {
        let path = #filePath
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)  // Tests/HighwaterTests/Fuzz/FuzzCorpusTests.swift
        return parts.joined(separator: "/")
    }()

    static func inputs(_ target: String) -> [String] {
        ["seeds", "regressions"].flatMap { kind -> [String] in
            let dir = "\(root)/fuzz/\(target)/\(kind)"
            return ((try? ProcDirectory.names(dir)) ?? []).sorted().map { dir + "/" + $0 }
        }
    }

    @Test func everyTargetHasSeedsAndEveryCorpusATarget() throws {
        let folders = try ProcDirectory.names(Self.root + "/fuzz").sorted()
        #expect(folders == FuzzTarget.all.map(\.name).sorted())
        for target in FuzzTarget.all { #expect(!Self.inputs(target.name).isEmpty, "no seeds for \(target.name)") }
    }

    @Test(arguments: FuzzTarget.all.map(\.name))
    func corpusRunsThrough(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        for path in Self.inputs(name) {
            let bytes = try #require(FuzzInput.read(path), "cannot read \(path)")
            bytes.withUnsafeBufferPointer { target.run($0) }
        }
        FuzzTarget.removeScratch()
    }
}
