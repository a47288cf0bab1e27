/// A figure a workload adds to its run's summary (`summary.json`'s `workload` object), with the name it has there and
/// the unit its number is in. Every name Highwater writes is a case; a name it does not write (an older results
/// directory's) reads as `unlisted`, so it is kept and shown, never dropped.
package enum WorkloadFigure: Hashable, Sendable, Comparable {
    // Uploads (`UploadFigures`, record's size cycling).
    case uploadFileBytes, uploadsPassed, uploadsFailed, uploadsEnospc, bytesReceived, bytesToTempDir, bytesToDestination
    case bytesWrittenPerByte, thresholdCrossed, receiveMsP50, copyMsP50, largestPassed, smallestFailed, failedStatus
    case tmpUsedPeak, tmpCapacity, destinationCapacity, predictedLargestFile
    // Downloads and the downstream service (`DownloadFigures`).
    case bytesServed, bytesPerSecond, hostCPUSeconds, cpuSecondsPerGiB, userCPUSecondsPerGiB, systemCPUSecondsPerGiB
    case hostCPUSecondsPerGiB, nginxCPUSecondsPerGiB, fdsPeak, nginxFdsPeak, nginxRSSPeakBytes, fileBytes
    case downstreamConnections, downstreamConnectionsPeak, downstreamCalls, downstreamConnectionsPerCall, poolSize
    case idleTimeoutSeconds, throughputVsChunked, cpuPerGiBVsChunked
    /// Failed requests of one kind as the load saw them: `errors_timeout`, `errors_http_504`.
    case errors(kind: String)
    /// Failed downstream calls of one kind as the host recorded them: `downstream_errors_reset`.
    case downstreamErrors(kind: String)
    /// A name this build does not write: shown as a plain number.
    case unlisted(String)

    /// Every figure with a fixed name.
    package static let listed: [WorkloadFigure] = [
        .uploadFileBytes, .uploadsPassed, .uploadsFailed, .uploadsEnospc, .bytesReceived, .bytesToTempDir, .bytesToDestination,
        .bytesWrittenPerByte, .thresholdCrossed, .receiveMsP50, .copyMsP50, .largestPassed, .smallestFailed, .failedStatus,
        .tmpUsedPeak, .tmpCapacity, .destinationCapacity, .predictedLargestFile,
        .bytesServed, .bytesPerSecond, .hostCPUSeconds, .cpuSecondsPerGiB, .userCPUSecondsPerGiB, .systemCPUSecondsPerGiB,
        .hostCPUSecondsPerGiB, .nginxCPUSecondsPerGiB, .fdsPeak, .nginxFdsPeak, .nginxRSSPeakBytes, .fileBytes,
        .downstreamConnections, .downstreamConnectionsPeak, .downstreamCalls, .downstreamConnectionsPerCall, .poolSize,
        .idleTimeoutSeconds, .throughputVsChunked, .cpuPerGiBVsChunked,
    ]

    static let errorsPrefix = "errors_", downstreamErrorsPrefix = "downstream_errors_"
    private static let byName = Dictionary(uniqueKeysWithValues: listed.map { ($0.name, $0) })

    /// The figure a name in `summary.json` stands for; every name reads as some figure, and its `name` is the same text.
    package init(name: String) {
        if let figure = Self.byName[name] { self = figure }
        else if name.hasPrefix(Self.downstreamErrorsPrefix) { self = .downstreamErrors(kind: String(name.dropFirst(Self.downstreamErrorsPrefix.count))) }
        else if name.hasPrefix(Self.errorsPrefix) { self = .errors(kind: String(name.dropFirst(Self.errorsPrefix.count))) }
        else { self = .unlisted(name) }
    }

    /// The name in `summary.json` (an interface: keep it), which expectations write as `workload.NAME`.
    package var name: String {
        switch self {
        case .uploadFileBytes: "upload_file_bytes"
        case .uploadsPassed: "uploads_passed"
        case .uploadsFailed: "uploads_failed"
        case .uploadsEnospc: "uploads_enospc"
        case .bytesReceived: "bytes_received"
        case .bytesToTempDir: "bytes_to_temp_dir"
        case .bytesToDestination: "bytes_to_destination"
        case .bytesWrittenPerByte: "bytes_written_per_byte"
        case .thresholdCrossed: "threshold_crossed"
        case .receiveMsP50: "receive_ms_p50"
        case .copyMsP50: "copy_ms_p50"
        case .largestPassed: "largest_passed"
        case .smallestFailed: "smallest_failed"
        case .failedStatus: "failed_status"
        case .tmpUsedPeak: "tmp_used_peak"
        case .tmpCapacity: "tmp_capacity"
        case .destinationCapacity: "destination_capacity"
        case .predictedLargestFile: "predicted_largest_file"
        case .bytesServed: "bytes_served"
        case .bytesPerSecond: "bytes_per_second"
        case .hostCPUSeconds: "host_cpu_seconds"
        case .cpuSecondsPerGiB: "cpu_seconds_per_gib"
        case .userCPUSecondsPerGiB: "user_cpu_seconds_per_gib"
        case .systemCPUSecondsPerGiB: "system_cpu_seconds_per_gib"
        case .hostCPUSecondsPerGiB: "host_cpu_seconds_per_gib"
        case .nginxCPUSecondsPerGiB: "nginx_cpu_seconds_per_gib"
        case .fdsPeak: "fds_peak"
        case .nginxFdsPeak: "nginx_fds_peak"
        case .nginxRSSPeakBytes: "nginx_rss_peak_bytes"
        case .fileBytes: "file_bytes"
        case .downstreamConnections: "downstream_connections"
        case .downstreamConnectionsPeak: "downstream_connections_peak"
        case .downstreamCalls: "downstream_calls"
        case .downstreamConnectionsPerCall: "downstream_connections_per_call"
        case .poolSize: "pool_size"
        case .idleTimeoutSeconds: "idle_timeout_seconds"
        case .throughputVsChunked: "throughput_vs_chunked"
        case .cpuPerGiBVsChunked: "cpu_per_gib_vs_chunked"
        case .errors(let kind): Self.errorsPrefix + kind
        case .downstreamErrors(let kind): Self.downstreamErrorsPrefix + kind
        case .unlisted(let name): name
        }
    }

    /// What the number counts or measures, as stored.
    package var unit: FigureUnit {
        switch self {
        case .uploadFileBytes, .bytesReceived, .bytesToTempDir, .bytesToDestination, .largestPassed, .smallestFailed,
             .tmpUsedPeak, .tmpCapacity, .destinationCapacity, .predictedLargestFile, .bytesServed, .nginxRSSPeakBytes, .fileBytes:
            .bytes
        case .bytesPerSecond: .bytesPerSecond
        case .hostCPUSeconds, .idleTimeoutSeconds: .seconds
        case .cpuSecondsPerGiB, .userCPUSecondsPerGiB, .systemCPUSecondsPerGiB, .hostCPUSecondsPerGiB, .nginxCPUSecondsPerGiB:
            .secondsPerGiB
        case .receiveMsP50, .copyMsP50: .milliseconds
        case .uploadsPassed, .uploadsFailed, .uploadsEnospc, .fdsPeak, .nginxFdsPeak, .downstreamConnections,
             .downstreamConnectionsPeak, .downstreamCalls, .poolSize, .errors, .downstreamErrors:
            .count
        case .thresholdCrossed: .share
        case .bytesWrittenPerByte, .downstreamConnectionsPerCall: .ratio
        case .throughputVsChunked, .cpuPerGiBVsChunked: .factor
        case .failedStatus: .statusCode
        case .unlisted: .number
        }
    }

    /// By name, as `summary.json`'s sorted keys list them.
    package static func < (a: WorkloadFigure, b: WorkloadFigure) -> Bool { a.name < b.name }
}

/// The unit of a stored figure, and how a person reads a number in it.
package enum FigureUnit: String, Sendable, CaseIterable {
    case bytes
    case bytesPerSecond
    case seconds
    /// CPU seconds per GiB moved.
    case secondsPerGiB
    case milliseconds
    case count
    /// A part of the whole, stored from 0 to 1.
    case share
    /// One quantity per another of a different kind (bytes written per byte uploaded, connections per call).
    case ratio
    /// This run's figure over another run's (against the chunked run of the same size).
    case factor
    /// An HTTP status, 0 for no answer.
    case statusCode
    /// A number of a figure this build does not list.
    case number

    /// `63 MiB`, `12 MiB/s`, `4.2 s`, `0.8 s/GiB`, `850 µs`, `12`, `40%`, `2`, `1.5x`, `507`.
    package func format(_ value: Double) -> String {
        switch self {
        case .bytes: Quantity.formatBytes(value)
        case .bytesPerSecond: Quantity.formatBytes(value) + "/s"
        case .seconds: Quantity.format(value) + " s"
        case .secondsPerGiB: Quantity.format(value) + " s/GiB"
        case .milliseconds: Quantity.formatDuration(nanoseconds: value * 1e6)
        case .count, .statusCode: value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : Quantity.format(value)
        case .share: Quantity.format(value * 100) + "%"
        case .ratio, .number: Quantity.format(value)
        case .factor: Quantity.format(value) + "x"
        }
    }
}
