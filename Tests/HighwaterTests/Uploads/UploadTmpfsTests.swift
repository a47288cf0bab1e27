@preconcurrency import Glibc
import HighwaterProbes
import HighwaterUploads
import Testing

/// Spooled and streamed uploads against a real size-limited tmpfs: the ENOSPC boundary, the 507 body, no leftovers.
@Suite(.serialized, .enabled(if: TestSupport.isRoot, "needs root to mount a tmpfs with mount(2); skipped"))
struct UploadTmpfsTests {
    static let tmpfsSize: UInt64 = 4 << 20
    static let threshold = 1 << 20

    @Test func spooledUploadThatFitsPassesAndOneByteMoreFailsWith507() throws {
        try TestSupport.withTmpfs(size: Self.tmpfsSize) { (tmp: String) throws in
            let destination = TestSupport.makeTemporaryDirectory("hw-dest")
            defer { TestSupport.removeTree(destination) }
            let capacity = try FilesystemProbe.usage(of: tmp).capacity
            #expect(capacity == Self.tmpfsSize)
            let prediction = UploadPrediction(capacity: capacity, threshold: UInt64(Self.threshold))

            let fits = UploadTestSupport.payload(Int(prediction.largestFileBytes))
            let passed = try UploadTestSupport.upload(fits, mode: .spooled(threshold: Self.threshold, tempDir: tmp),
                                                      destination: destination, fileName: "fits.bin").get()
            #expect(passed.fileBytes == capacity)
            #expect(passed.thresholdCrossed)
            #expect(passed.bytesWrittenToTempDir == capacity)
            #expect(passed.bytesWrittenToDestination == capacity)
            #expect(passed.bytesWrittenPerFileByte == 2)
            #expect(UploadTestSupport.contents(passed.destinationPath) == fits)
            #expect(UploadTestSupport.entries(tmp).isEmpty)
            #expect(UploadTestSupport.freed(tmp), "\((try? FilesystemProbe.usage(of: tmp).used) ?? 0) bytes still used")

            let tooBig = UploadTestSupport.payload(Int(prediction.largestFileBytes) + 1)
            let failed = UploadTestSupport.upload(tooBig, mode: .spooled(threshold: Self.threshold, tempDir: tmp),
                                                  destination: destination, fileName: "too-big.bin")
            guard case .failure(let error) = failed, case .insufficientStorage(let storage) = error.code else {
                Issue.record("expected ENOSPC, got \(failed)")
                return
            }
            #expect(error.httpStatus == 507)
            #expect(storage.role == .tempDir)
            #expect(storage.capacity == capacity)
            #expect(storage.free == capacity)
            #expect(storage.bytesNeeded == capacity + 1)
            #expect(error.jsonBody.contains("\"temp_dir\":\"\(tmp)\""))
            #expect(error.jsonBody.contains("\"capacity\":\(capacity)"))
            #expect(error.jsonBody.contains("\"bytes_needed\":\(capacity + 1)"))
            #expect(UploadTestSupport.entries(tmp).isEmpty)
            #expect(UploadTestSupport.freed(tmp), "\((try? FilesystemProbe.usage(of: tmp).used) ?? 0) bytes still used")
            #expect(UploadTestSupport.entries(destination) == ["fits.bin"])
        }
    }

    @Test func streamedUploadToASeparateDestinationPassesWhereSpooledFails() throws {
        try TestSupport.withTmpfs(size: Self.tmpfsSize) { (tmp: String) throws in
            let destination = TestSupport.makeTemporaryDirectory("hw-dest")
            defer { TestSupport.removeTree(destination) }
            let file = UploadTestSupport.payload(Int(Self.tmpfsSize) + 512 << 10)
            let result = try UploadTestSupport.upload(file, mode: .streamed, destination: destination).get()
            #expect(result.fileBytes == UInt64(file.count))
            #expect(result.bytesWrittenToTempDir == 0)
            #expect(result.bytesWrittenToDestination == UInt64(file.count))
            #expect(result.bytesWrittenPerFileByte == 1)
            #expect(!result.thresholdCrossed)
            #expect(result.copyNs == 0)
            #expect(UploadTestSupport.contents(result.destinationPath) == file)
            #expect(UploadTestSupport.entries(tmp).isEmpty)
            #expect(UploadTestSupport.entries(destination) == ["upload.bin"])

            let spooled = UploadTestSupport.upload(file, mode: .spooled(threshold: Self.threshold, tempDir: tmp), destination: destination,
                                                   fileName: "spooled.bin")
            #expect((try? spooled.get()) == nil)
        }
    }

    @Test func streamedUploadIntoAFullDestinationFailsWith507AndLeavesNoPartialFile() throws {
        try TestSupport.withTmpfs(size: Self.tmpfsSize) { (destination: String) throws in
            let file = UploadTestSupport.payload(Int(Self.tmpfsSize) + 1)
            let failed = UploadTestSupport.upload(file, mode: .streamed, destination: destination)
            guard case .failure(let error) = failed, case .insufficientStorage(let storage) = error.code else {
                Issue.record("expected ENOSPC, got \(failed)")
                return
            }
            #expect(error.httpStatus == 507)
            #expect(storage.role == .destination)
            #expect(error.jsonBody.contains("\"destination_dir\":\"\(destination)\""))
            #expect(UploadTestSupport.entries(destination).isEmpty)
            #expect(UploadTestSupport.freed(destination), "\((try? FilesystemProbe.usage(of: destination).used) ?? 0) bytes still used")
        }
    }

    @Test func abortMidUploadLeavesNothingAndFreesTheTmpfs() throws {
        try TestSupport.withTmpfs(size: Self.tmpfsSize) { (tmp: String) throws in
            let destination = TestSupport.makeTemporaryDirectory("hw-dest")
            defer { TestSupport.removeTree(destination) }
            for mode in [UploadMode.spooled(threshold: Self.threshold, tempDir: tmp), .streamed] {
                let framing = MultipartFraming(fileName: "aborted.bin")
                let body = UploadTestSupport.multipartBody(file: UploadTestSupport.payload(3 << 20), framing: framing)
                let receiver = try UploadReceiver(contentType: framing.requestContentType, mode: mode, destinationDirectory: destination)
                try UploadTestSupport.feed(receiver, body, upTo: 2 << 20)
                #expect(UploadTestSupport.entries(destination).count == 1, "the partial file exists while receiving")
                receiver.abort()
                #expect(UploadTestSupport.entries(destination).isEmpty)
                #expect(UploadTestSupport.entries(tmp).isEmpty)
                #expect(UploadTestSupport.freed(tmp), "\((try? FilesystemProbe.usage(of: tmp).used) ?? 0) bytes still used")
                #expect(throws: UploadError.self) { _ = try receiver.finish() }
            }
        }
    }

    @Test func privateTmpfsMountsAndUnmounts() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-private")
        defer { _ = rmdir(dir) }
        try PrivateTmpfs.mount(at: dir, size: 2 << 20)
        #expect(PrivateTmpfs.isMounted(at: dir))
        #expect(try FilesystemProbe.usage(of: dir).capacity == 2 << 20)
        try PrivateTmpfs.unmount(at: dir)
        #expect(!PrivateTmpfs.isMounted(at: dir))
        let availability = PrivateTmpfs.availability()
        print("PrivateTmpfs.availability: possible=\(availability.possible) how=\(availability.how) why=\(availability.why)")
        #expect(availability.possible == !availability.how.isEmpty, "\(availability.why)")
    }
}
