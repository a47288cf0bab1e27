@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterUploads
import HighwaterSystem
import HighwaterWorkloads

/// What a run starts beside the hosted child and removes after it, on every path (end, failure, Ctrl-C): the file
/// a download serves, nginx in front of the host for `download-accel`, the downstream service a downstream
/// workload calls. It also reads their CPU time around the load, and samples nginx beside the host.
package final class RunCompanions: @unchecked Sendable {
    /// The plan with the served file and the downstream's address filled in.
    package private(set) var plan: RunPlan
    package let downstream: DownstreamService?
    package private(set) var nginx: NginxOffload?
    private var fileDirectory: String?
    private var nginxSampler: Sampler?
    private let runDirectory: String

    package init(plan: RunPlan, runDirectory: String) throws {
        self.plan = plan
        self.runDirectory = runDirectory
        var service: DownstreamService?
        do {
            if plan.isDownload {
                let workload = try DownloadWorkload(plan.workload)
                // Before the host starts, so a machine without nginx fails this configuration only, and at once.
                if workload.mode == .accel, NginxOffload.locate() == nil { throw NginxError.missing }
                if workload.path == nil {
                    let base = TempDirectory.resolve(environment: ProcessEnvironment.current).path
                    // Named after this process, so the next run sweeps it if this one is killed before it removes it.
                    let directory = try OwnedDirectory.make(in: base, prefix: "highwater-files-")
                    fileDirectory = directory
                    // nginx's worker may run as another user: it must reach the file.
                    try? Syscall.chmod(directory, 0o755)
                    let path = directory + "/file-\(workload.fileBytes).bin"
                    try DownloadFile.make(at: path, bytes: workload.fileBytes)
                    self.plan.workload.options["file"] = path
                }
            }
            if plan.isDownstream {
                let workload = try DownstreamWorkload(plan.workload)
                service = try DownstreamService(responseBytes: workload.responseBytes, delayNs: workload.delayNs,
                                                fault: workload.fault, faultEvery: workload.faultEvery)
                self.plan.workload.options["downstream_url"] = service?.url
            }
        } catch {
            if let fileDirectory { FileTree.removeTree(fileDirectory) }
            throw error
        }
        downstream = service
    }

    deinit { stop() }

    /// Where the load goes: nginx in front of the host for `download-accel` (started here), else the host.
    package func front(hostPort: Int) throws -> Int {
        guard plan.workload.name == WorkloadKind.downloadAccel.rawValue else { return hostPort }
        let workload = try DownloadWorkload(plan.workload)
        let base = TempDirectory.resolve(environment: ProcessEnvironment.current).path
        let nginx = try NginxOffload(upstreamPort: hostPort, filesDirectory: workload.directory,
                                     location: DownloadWorkload.accelLocation, tempBase: base)
        self.nginx = nginx
        if let worker = nginx.workerPID {
            let sampler = try Sampler(options: .init(intervalNs: plan.sampleIntervalNs, pid: worker),
                                      appendingTo: runDirectory + "/nginx-samples.jsonl")
            sampler.start()
            nginxSampler = sampler
        }
        return nginx.port
    }

    /// nginx's CPU time so far (master and workers); nil without nginx.
    package func nginxCPU() -> ProcessCPU? {
        nginx.map { ProcessCPU.read($0.processIDs()) }
    }

    /// Stops nginx and the downstream, removes the served file; safe to call twice.
    package func stop() {
        _ = nginxSampler?.stop()
        nginxSampler = nil
        nginx?.stop()
        nginx = nil
        downstream?.stop()
        if let fileDirectory { FileTree.removeTree(fileDirectory) }
        fileDirectory = nil
    }
}
