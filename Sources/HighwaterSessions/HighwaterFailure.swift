@preconcurrency import Glibc
import HighwaterSystem

/// The version every results directory and report names.
package enum HighwaterVersion {
    package static let current = "0.1.0"
}

/// A failure that maps to one of the documented exit codes, with a message that says what to do.
package enum HighwaterFailure: Error, CustomStringConvertible {
    case badInput(String)
    /// Bad input already written as `FILE:LINE:COL: error: …` lines, printed as they are, so editors and CI
    /// annotations find every location.
    case badFiles(String)
    case couldNotRun(String)
    case failed(String)

    package var description: String {
        switch self {
        case .badInput(let m), .badFiles(let m), .couldNotRun(let m), .failed(let m): return m
        }
    }

    /// What stderr shows: `highwater: error: …`, or the file diagnostics alone.
    package var message: String {
        if case .badFiles(let m) = self { return m }
        return "highwater: error: \(description)"
    }

    /// The documented exit code: 1 failed, 2 bad input, 3 could not run.
    package var exitStatus: Int32 {
        switch self {
        case .failed: return 1
        case .badInput, .badFiles: return 2
        case .couldNotRun: return 3
        }
    }
}

package enum ResultsDirectory {
    /// Creates a directory and its parents; throws a could-not-run failure naming the path.
    package static func create(_ path: String) throws {
        do { try FileTree.createDirectory(path) } catch {
            throw HighwaterFailure.couldNotRun("cannot create \(error.path): \(error.reason)")
        }
    }
}
