/// Records a hosted child took but could not write (a full disk, …), as it tells the parent in
/// `lost.json` when it stops: the run then says its files are short, and exits 3, instead of
/// reporting on truncated data as if it were whole.
package struct RecordLosses: Codable, Equatable, Sendable {
    package var samples: Int
    package var requests: Int
    /// The first failure, in the system's words (call, path, errno).
    package var first_error: String?

    package init(samples: Int, requests: Int, first_error: String?) {
        self.samples = samples
        self.requests = requests
        self.first_error = first_error
    }

    package var total: Int { samples + requests }
}
