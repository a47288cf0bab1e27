import HighwaterAnalysis
import HighwaterRecords
import HighwaterProbes
import HighwaterUploads
import HighwaterSystem
import HighwaterWorkloads

/// What an upload run's records say, added to its summary: where the bytes went, how much of the temp dir they
/// took, which sizes passed and failed, and where the temp dir's capacity says the boundary must be.
/// The names are the `workload` fields of `summary.json`.
enum UploadFigures {
    static func add(to summary: inout RunSummary, plan: RunPlan, upload: UploadWorkload, requests: [RequestRecord],
                    samples: [SampleRecord]) {
        var w = summary.workload ?? WorkloadFigures()
        let sizes = plan.load.payloadBytes.isEmpty ? [UploadLoad.defaultFileBytes] : plan.load.payloadBytes
        w[.uploadFileBytes] = Double(sizes.max()!)
        let passed = requests.filter { $0.status == 200 }
        let failed = requests.filter { $0.status != 200 }
        w[.uploadsPassed] = Double(passed.count)
        w[.uploadsFailed] = Double(failed.count)
        w[.uploadsEnospc] = Double(failed.filter { $0.status == 507 }.count)
        w[.bytesReceived] = Double(requests.compactMap(\.bytes_received).reduce(0, +))
        let toTemp = passed.compactMap(\.bytes_to_temp_dir).reduce(0, +)
        let toDestination = passed.compactMap(\.bytes_to_destination).reduce(0, +)
        let uploaded = passed.compactMap(\.payload_bytes).reduce(0, +)
        w[.bytesToTempDir] = Double(toTemp)
        w[.bytesToDestination] = Double(toDestination)
        if uploaded > 0 { w[.bytesWrittenPerByte] = Double(toTemp + toDestination) / Double(uploaded) }
        if !passed.isEmpty {
            w[.thresholdCrossed] = Double(passed.filter { $0.threshold_crossed == 1 }.count) / Double(passed.count)
            w[.receiveMsP50] = Percentiles.of(passed.compactMap(\.receive_ns).map { Double($0) / 1e6 }).p50
            w[.copyMsP50] = Percentiles.of(passed.compactMap(\.copy_ns).map { Double($0) / 1e6 }).p50
        }
        // Where they started failing, as a record phase finds it: the same fields and the same sentence.
        var boundary = UploadBoundary()
        for r in requests {
            if let bytes = r.payload_bytes { boundary.add(bytes: bytes, status: Int(r.status), error: r.status == 200 ? nil : r.error) }
        }
        boundary.write(into: &w)

        let tmpUsed = samples.compactMap(\.tmp_used)
        // The run's own use: the peak above the level at the start (0 on a fresh tmpfs; others' files on a shared /tmp).
        if let peak = tmpUsed.max(), let start = tmpUsed.first { w[.tmpUsedPeak] = Double(peak - start) }
        let page = SystemFacts.pageSize
        func pages(_ bytes: UInt64) -> UInt64 { (bytes + page - 1) / page * page }
        let tmpCapacity = plan.storage.tmpfsBytes.map(pages)
            ?? plan.storage.tempDir.flatMap { try? FilesystemProbe.usage(of: $0).capacity }
        if let tmpCapacity { w[.tmpCapacity] = Double(tmpCapacity) }
        if let d = plan.storage.destinationTmpfsBytes { w[.destinationCapacity] = Double(pages(d)) }

        // The file that fills whatever the upload writes to first: the temp dir when spooled, else a sized destination.
        let overhead = upload.encoding == .multipart ? MultipartFraming(fileName: "upload-0.bin").overhead : 0
        var prediction: UploadPrediction?
        if case .spooled(let threshold, _) = upload.mode, let tmpCapacity, plan.storage.tmpfsBytes != nil {
            prediction = UploadPrediction(capacity: tmpCapacity, used: tmpUsed.first ?? 0, pageSize: page,
                                          threshold: UInt64(threshold), overhead: overhead)
        } else if case .streamed = upload.mode, let d = plan.storage.destinationTmpfsBytes {
            prediction = UploadPrediction(capacity: pages(d), pageSize: page, threshold: 0, overhead: overhead)
        }
        if let prediction { w[.predictedLargestFile] = Double(prediction.largestFileBytes) }
        summary.workload = w
        summary.note(.uploads(workload: plan.workload.name, w, tmpfs: plan.storage.tmpfsBytes != nil, firstError: failed.first?.error))
        if let finding = Finding.uploadBoundary(boundary) { summary.note(finding) }
    }
}
