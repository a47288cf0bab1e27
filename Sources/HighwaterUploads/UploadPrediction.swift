/// Where a spooled upload must start failing, from the temp dir's figures alone.
/// The spool holds only the file's bytes (not the part's headers), and tmpfs charges whole pages, so the largest
/// file that fits is the free space rounded down to pages; the body that carries it adds the multipart framing.
/// A file no larger than the spool threshold never reaches the temp dir at all.
package struct UploadPrediction: Equatable, Sendable {
    package var capacity: UInt64
    /// Already used by others when the upload starts.
    package var used: UInt64
    package var pageSize: UInt64
    package var threshold: UInt64
    /// Body bytes that are not the file (`MultipartFraming.overhead`; 0 for a raw body).
    package var overhead: UInt64

    package init(capacity: UInt64, used: UInt64 = 0, pageSize: UInt64 = 4096,
                threshold: UInt64 = UInt64(SpooledFile.defaultThreshold), overhead: UInt64 = 0) {
        self.capacity = capacity
        self.used = used
        self.pageSize = max(1, pageSize)
        self.threshold = threshold
        self.overhead = overhead
    }

    /// The largest file the spool can hold: free space in whole pages (or the threshold, if that is larger).
    package var largestFileBytes: UInt64 {
        let free = capacity > used ? capacity - used : 0
        return max(free / pageSize * pageSize, threshold)
    }

    /// The largest request body whose file fits.
    package var largestBodyBytes: UInt64 { largestFileBytes + overhead }

    package func fits(fileBytes: UInt64) -> Bool { fileBytes <= largestFileBytes }
}
