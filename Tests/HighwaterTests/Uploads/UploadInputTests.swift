@preconcurrency import Glibc
import HighwaterUploads
import NIOCore
import Testing

/// Bad bodies, hostile names and disconnects: each a clear 4xx, and no file of ours left behind.
@Suite struct UploadInputTests {
    /// A temp dir and a destination, both removed afterwards; the test checks both are empty of our files.
    static func withDirectories(_ body: (_ tmp: String, _ destination: String) throws -> Void) throws {
        let tmp = TestSupport.makeTemporaryDirectory("hw-spool")
        let destination = TestSupport.makeTemporaryDirectory("hw-dest")
        defer { TestSupport.removeTree(tmp); TestSupport.removeTree(destination) }
        try body(tmp, destination)
    }

    @Test func multipartWithoutBoundaryIs400() {
        for contentType in ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; charset=utf-8"] {
            #expect {
                _ = try UploadReceiver(contentType: contentType, mode: .streamed, destinationDirectory: "/nonexistent")
            } throws: { ($0 as? UploadError)?.httpStatus == 400 }
        }
    }

    @Test func truncatedPartIs400AndLeavesNoFile() throws {
        try Self.withDirectories { tmp, destination in
            for mode in [UploadMode.spooled(threshold: 64 << 10, tempDir: tmp), .streamed] {
                let framing = MultipartFraming(fileName: "cut.bin")
                let body = UploadTestSupport.multipartBody(file: UploadTestSupport.payload(300_000), framing: framing)
                for cut in [framing.head.count - 5, framing.head.count + 150_000, body.count - 3] {
                    let receiver = try UploadReceiver(contentType: framing.requestContentType, mode: mode, destinationDirectory: destination)
                    try UploadTestSupport.feed(receiver, body, upTo: cut)
                    #expect { _ = try receiver.finish() } throws: { ($0 as? UploadError)?.httpStatus == 400 }
                    #expect(UploadTestSupport.entries(destination).isEmpty)
                    #expect(UploadTestSupport.entries(tmp).isEmpty)
                }
            }
        }
    }

    @Test func syntaxErrorInPartHeadersIs400() throws {
        try Self.withDirectories { tmp, destination in
            let body = Array("--B\r\nContent-Disposition form-data\r\n\r\nxx\r\n--B--\r\n".utf8)
            let receiver = try UploadReceiver(contentType: "multipart/form-data; boundary=B", mode: .spooled(tempDir: tmp),
                                              destinationDirectory: destination)
            #expect { try UploadTestSupport.feed(receiver, body) } throws: { ($0 as? UploadError)?.httpStatus == 400 }
            #expect(UploadTestSupport.entries(destination).isEmpty)
        }
    }

    @Test func bodyWithoutFilePartIs400() throws {
        try Self.withDirectories { tmp, destination in
            let body = Array("--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--B--\r\n".utf8)
            let receiver = try UploadReceiver(contentType: "multipart/form-data; boundary=B", mode: .spooled(tempDir: tmp),
                                              destinationDirectory: destination)
            try UploadTestSupport.feed(receiver, body)
            #expect { _ = try receiver.finish() } throws: { ($0 as? UploadError)?.code == .noFilePart }
        }
    }

    @Test func partOverTheLimitIs413AndLeavesNoFile() throws {
        try Self.withDirectories { tmp, destination in
            for mode in [UploadMode.spooled(threshold: 64 << 10, tempDir: tmp), .streamed] {
                let result = UploadTestSupport.upload(UploadTestSupport.payload(200_001), mode: mode, destination: destination,
                                                      limits: UploadLimits(maxFileBytes: 200_000))
                guard case .failure(let error) = result else { Issue.record("expected 413"); continue }
                #expect(error.httpStatus == 413)
                #expect(error.jsonBody.contains("\"limit\":200000"))
                #expect(UploadTestSupport.entries(destination).isEmpty)
                #expect(UploadTestSupport.entries(tmp).isEmpty)
                let exact = UploadTestSupport.upload(UploadTestSupport.payload(200_000), mode: mode, destination: destination,
                                                     limits: UploadLimits(maxFileBytes: 200_000))
                #expect((try? exact.get())?.fileBytes == 200_000)
                TestSupport.removeTree(destination + "/upload.bin")
            }
            #expect {
                _ = try UploadReceiver(contentType: nil, mode: .streamed, destinationDirectory: destination, limits: UploadLimits(maxBodyBytes: 10),
                                       fileName: "x", expectedLength: 11)
            } throws: { ($0 as? UploadError)?.httpStatus == 413 }
        }
    }

    @Test(arguments: ["../x", "/etc/passwd", "a\0b", "a/b", "a\\b", "..", ".", "", "C:\\x", String(repeating: "n", count: 256)])
    func hostileFileNameIs400(name: String) throws {
        #expect { _ = try DestinationName.validate(name) } throws: { ($0 as? DestinationNameError)?.httpStatus == 400 }
        try Self.withDirectories { tmp, destination in
            let result = UploadTestSupport.upload(UploadTestSupport.payload(1000), mode: .spooled(tempDir: tmp), destination: destination,
                                                  fileName: name)
            guard case .failure(let error) = result else { Issue.record("accepted \(name.debugDescription)"); return }
            #expect(error.httpStatus == 400)
            #expect(UploadTestSupport.entries(destination).isEmpty)
            #expect {
                _ = try UploadReceiver(contentType: "application/octet-stream", mode: .streamed, destinationDirectory: destination, fileName: name)
            } throws: { ($0 as? UploadError)?.httpStatus == 400 }
        }
    }

    @Test func plainNamesAreAccepted() throws {
        for name in ["report.pdf", ".hidden", "naïve café.txt", "a..b", String(repeating: "n", count: 255)] {
            #expect(try DestinationName.validate(name) == name)
        }
    }

    @Test func spooledBelowThresholdStaysInMemoryAndFieldsAreKept() throws {
        try Self.withDirectories { tmp, destination in
            let framing = MultipartFraming(fileName: "small.bin")
            let file = UploadTestSupport.payload(10_000)
            let body = UploadTestSupport.multipartBody(file: file, framing: framing, fieldBefore: ("note", "hello"))
            let receiver = try UploadReceiver(contentType: framing.requestContentType, mode: .spooled(tempDir: tmp),
                                              destinationDirectory: destination)
            try UploadTestSupport.feed(receiver, body)
            let result = try receiver.finish()
            #expect(!result.thresholdCrossed)
            #expect(result.bytesWrittenToMemory == 10_000)
            #expect(result.bytesWrittenToTempDir == 0)
            #expect(result.bytesWrittenToDestination == 10_000)
            #expect(result.bytesReceived == UInt64(body.count))
            #expect(result.fields == ["note": "hello"])
            #expect(UploadTestSupport.contents(result.destinationPath) == file)
            #expect(result.jsonBody.contains("\"threshold_crossed\":false"))
        }
    }

    @Test func spooledPastThresholdWritesEveryByteTwice() throws {
        try Self.withDirectories { tmp, destination in
            let file = UploadTestSupport.payload(3 << 20)
            let result = try UploadTestSupport.upload(file, mode: .spooled(threshold: 1 << 20, tempDir: tmp), destination: destination).get()
            #expect(result.thresholdCrossed)
            #expect(result.bytesWrittenToTempDir == UInt64(file.count))
            #expect(result.bytesWrittenPerFileByte == 2)
            #expect(UploadTestSupport.contents(result.destinationPath) == file)
            #expect(UploadTestSupport.entries(tmp).isEmpty)
            #expect(UploadTestSupport.entries(destination) == ["upload.bin"])
        }
    }

    @Test func rawBodyIsTheFile() throws {
        try Self.withDirectories { tmp, destination in
            let file = UploadTestSupport.payload(500_000)
            for mode in [UploadMode.spooled(threshold: 100_000, tempDir: tmp), .streamed] {
                let receiver = try UploadReceiver(contentType: "application/octet-stream", mode: mode, destinationDirectory: destination,
                                                  fileName: "raw.bin", expectedLength: UInt64(file.count))
                try UploadTestSupport.feed(receiver, file)
                let result = try receiver.finish()
                #expect(result.fileBytes == UInt64(file.count))
                #expect(UploadTestSupport.contents(destination + "/raw.bin") == file)
            }
            let short = try UploadReceiver(contentType: nil, mode: .streamed, destinationDirectory: destination, fileName: "short.bin",
                                           expectedLength: 10)
            try short.receive(ByteBuffer(bytes: [1, 2, 3]))
            #expect { _ = try short.finish() } throws: { ($0 as? UploadError)?.httpStatus == 400 }
            #expect(UploadTestSupport.entries(destination) == ["raw.bin"])
            #expect { _ = try UploadReceiver(contentType: nil, mode: .streamed, destinationDirectory: destination) } throws: {
                ($0 as? UploadError)?.code == .missingFileName
            }
        }
    }

    @Test func abortWithoutRootLeavesNoPartialFile() throws {
        try Self.withDirectories { tmp, destination in
            for mode in [UploadMode.spooled(threshold: 64 << 10, tempDir: tmp), .streamed] {
                let framing = MultipartFraming(fileName: "gone.bin")
                let body = UploadTestSupport.multipartBody(file: UploadTestSupport.payload(1 << 20), framing: framing)
                let receiver = try UploadReceiver(contentType: framing.requestContentType, mode: mode, destinationDirectory: destination)
                try UploadTestSupport.feed(receiver, body, upTo: 600_000)
                receiver.abort()
                try receiver.receive(ByteBuffer(bytes: body[600_000...]))
                #expect(UploadTestSupport.entries(destination).isEmpty)
                #expect(UploadTestSupport.entries(tmp).isEmpty)
            }
        }
    }

    @Test func headerParameters() {
        let d = HeaderParameters(parsing: "form-data; name=\"file\"; filename=\"a \\\"q\\\" b.txt\"")
        #expect(d.value == "form-data")
        #expect(d["name"] == "file")
        #expect(d["filename"] == "a \"q\" b.txt")
        #expect(HeaderParameters(parsing: "form-data; filename=\"C:\\dir\\x.txt\"")["filename"] == "C:\\dir\\x.txt")
        #expect(HeaderParameters(parsing: "attachment; filename=\"x\"; filename*=UTF-8''%2e%2e%2Fetc")["filename"] == "../etc")
        #expect(HeaderParameters(parsing: "Multipart/Form-Data; Boundary=abc")["boundary"] == "abc")
    }
}
