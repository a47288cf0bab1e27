import HighwaterRecords
import HighwaterUploads
import Testing

@Suite struct UploadPredictionTests {
    @Test func largestFileIsFreeSpaceInWholePages() {
        let p = UploadPrediction(capacity: 64 << 20, used: 10_000, pageSize: 4096, threshold: 1 << 20, overhead: 180)
        // 10,000 bytes used leave 64 MiB - 12,288 in whole pages.
        #expect(p.largestFileBytes == (64 << 20) - 12_288)
        #expect(p.largestBodyBytes == (64 << 20) - 12_288 + 180)
        #expect(p.fits(fileBytes: (64 << 20) - 12_288))
        #expect(!p.fits(fileBytes: (64 << 20) - 12_287))
    }

    @Test func aFileWithinTheThresholdNeverReachesTheTempDir() {
        let p = UploadPrediction(capacity: 1 << 20, threshold: 20 << 20)
        #expect(p.fits(fileBytes: 20 << 20))
        #expect(!p.fits(fileBytes: (20 << 20) + 1))
    }

    @Test func framingOverheadMatchesTheBytesSent() {
        let f = MultipartFraming(boundary: "XyZ", fieldName: "file", fileName: "a.bin")
        #expect(f.overhead == UInt64(f.head.count + f.tail.count))
        #expect(f.bodyLength(fileBytes: 10) == 10 + f.overhead)
        #expect(String(decoding: f.tail, as: UTF8.self) == "\r\n--XyZ--\r\n")
    }

    @Test func boundaryFromOutcomes() {
        let mib: UInt64 = 1 << 20
        let b = UploadBoundary(outcomes: [(1 * mib, true), (16 * mib, true), (63 * mib, true), (64 * mib, true),
                                          (65 * mib, false), (128 * mib, false)])
        #expect(b.largestPassed == 64 * mib)
        #expect(b.smallestFailed == 65 * mib)
        #expect(b.agrees(with: 64 * mib))
        #expect(!b.agrees(with: 32 * mib))
        #expect(!UploadBoundary(outcomes: [(mib, false), (2 * mib, true)]).isConsistent)
    }

    @Test("one boundary from uploads as they are answered: 2xx passes, the smallest failure is kept with its answer, and the fields round-trip")
    func boundaryFromAnswers() throws {
        let mib: UInt64 = 1 << 20
        var b = UploadBoundary()
        for (bytes, status, error) in [(2 * mib, 200, nil), (20 * mib, 0, "connection reset"), (18 * mib, 507, nil), (16 * mib, 200, nil),
                                       (24 * mib, 413, nil)] as [(UInt64, Int, String?)] {
            b.add(bytes: bytes, status: status, error: error)
        }
        #expect(b.largestPassed == 16 * mib && b.smallestFailed == 18 * mib && b.failedStatus == 507)
        #expect(Finding.uploadBoundary(b)?.text == "uploads started failing at 18 MiB with status 507; the largest that passed was 16 MiB")
        var fields = WorkloadFigures()
        b.write(into: &fields)
        #expect(fields == WorkloadFigures([.largestPassed: Double(16 * mib), .smallestFailed: Double(18 * mib), .failedStatus: 507]))
        #expect(UploadBoundary(figures: fields) == UploadBoundary(largestPassed: b.largestPassed, smallestFailed: b.smallestFailed, failedStatus: 507))
        var unanswered = UploadBoundary()
        unanswered.add(bytes: mib, status: 0, error: "connection reset")
        #expect(Finding.uploadBoundary(unanswered)?.text == "uploads started failing at 1 MiB with no answer (connection reset)")
        #expect(UploadBoundary(figures: WorkloadFigures([.uploadsPassed: 3])) == nil)
        #expect(Finding.uploadBoundary(UploadBoundary()) == nil)
    }
}
