@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterSystem

/// The files `check` and `host` read and write, with reasons a user can act on.
package enum ResultsFile {
    package struct Failure: Error {
        /// `No such file or directory`, or what else is wrong with the path.
        package var reason: String
    }

    /// Reads a regular file of at most `limit` bytes (a summary lists runs, not requests: 64 MiB is far past any).
    package static func read(_ path: String, limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        if FileTree.isDirectory(path) { throw Failure(reason: "it is a directory") }
        do { return try FileTree.readBytes(path, limit: limit) } catch {
            throw Failure(reason: error.errno == EFBIG ? "it is larger than \(limit >> 20) MiB" : error.reason)
        }
    }

    package static func write(_ path: String, _ text: String) throws(Failure) {
        do { try FileTree.writeAtomically(Array(text.utf8), to: path) } catch { throw Failure(reason: error.reason) }
    }

    /// Writes a report a user asked for (`--junit`, `--markdown`, `--html`); one that cannot be written could not run (exit 3).
    package static func save(_ text: String, to path: String) throws {
        do { try write(path, text) } catch {
            throw HighwaterFailure.couldNotRun("cannot write \(path): \(error.reason); check that its folder exists and is writable")
        }
    }

    /// The runs of a results directory's summary.json (or of a summary file named directly).
    package static func runs(_ dir: String) throws -> [RunSummary] {
        let path = dir.hasSuffix(".json") ? dir : dir + "/summary.json"
        let bytes: [UInt8]
        do { bytes = try ResultsFile.read(path) } catch {
            if !dir.hasSuffix(".json"), (try? Syscall.linkStatus(dir + "/samples.jsonl")) != nil {
                throw HighwaterFailure.badInput("cannot read \(path): \(error.reason); \(dir) holds samples.jsonl from a `highwater sample` that wrote no verdict (an older version): sample again with --out \(dir)")
            }
            throw HighwaterFailure.badInput("cannot read \(path): \(error.reason); give the results directory a `highwater run --out DIR` wrote, or run it first")
        }
        do { return try JSONDecoder().decode(ResultsSummary.self, from: Data(bytes)).runs } catch {
            throw HighwaterFailure.badInput("\(path) is not a Highwater results summary: \(DecodingExplanation.describe(error, in: bytes)); run `highwater run --out \(dir)` again to rewrite it")
        }
    }
}
