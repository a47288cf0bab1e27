import ArgumentParser
@preconcurrency import Glibc
import HighwaterSystem

/// A failure that maps to one of the documented exit codes, with a message that says what to do.
enum HighwaterFailure: Error, CustomStringConvertible {
    case badInput(String)
    /// Bad input already written as `FILE:LINE:COL: error: …` lines, printed as they are, so editors and CI
    /// annotations find every location.
    case badFiles(String)
    case couldNotRun(String)
    case failed(String)

    var description: String {
        switch self {
        case .badInput(let m), .badFiles(let m), .couldNotRun(let m), .failed(let m): return m
        }
    }

    /// What stderr shows: `highwater: error: …`, or the file diagnostics alone.
    var message: String {
        if case .badFiles(let m) = self { return m }
        return "highwater: error: \(description)"
    }

    var exitCode: ExitCode {
        switch self {
        case .failed: return ExitStatus.failed
        case .badInput, .badFiles: return ExitStatus.badInput
        case .couldNotRun: return ExitStatus.couldNotRun
        }
    }
}

enum ResultsDirectory {
    /// Creates a directory and its parents; throws a could-not-run failure naming the path.
    static func create(_ path: String) throws {
        do { try FileTree.createDirectory(path) } catch {
            throw HighwaterFailure.couldNotRun("cannot create \(error.path): \(error.reason)")
        }
    }
}
