@preconcurrency import Glibc
import HighwaterRecords
import HighwaterProbes
import HighwaterUploads
import HighwaterSystem
import HighwaterWorkloads

/// The directories an upload run writes to, made by the parent before the child starts and removed after it ends:
/// the temp dir (a private tmpfs of the chosen size, the user's directory, or Python's default) and the destination.
///
/// A tmpfs is mounted by the child itself, inside the mount namespace `unshare` gives it, so it vanishes with the
/// child on every path (exit, crash, SIGKILL, Ctrl-C); the parent only makes and removes the empty mount points.
package struct RunStorage: Sendable {
    /// The plan with `tempDir` and `destinationDir` filled in.
    package var plan: RunPlan
    /// Put before the child's command line: `unshare --mount …` when the child mounts a tmpfs.
    package var commandPrefix: [String] = []
    /// Arguments for `highwater host` telling it what to mount.
    package var hostArguments: [String] = []
    /// What we made, to remove afterwards.
    private var made: [String] = []

    /// - Throws: `HarnessError.storage` when a tmpfs was asked for and cannot be mounted here.
    package init(plan: RunPlan, runDirectory: String) throws {
        self.plan = plan
        guard plan.isUpload || plan.storage.tmpfsBytes != nil || plan.storage.destinationTmpfsBytes != nil else { return }
        let base = TempDirectory.resolve(environment: ProcessEnvironment.current).path
        let wantsMount = plan.storage.tmpfsBytes != nil || plan.storage.destinationTmpfsBytes != nil
        let availability = wantsMount ? Self.privateTmpfs : nil
        if let availability, !availability.possible, plan.storage.tempDir == nil || plan.storage.destinationTmpfsBytes != nil {
            throw HarnessError.storage("a tmpfs of the chosen size was asked for, but \(availability.why)")
        }
        do {
            if let size = plan.storage.tmpfsBytes, availability?.possible == true {
                _ = Self.sweptOnce
                let dir = try FileTree.makeTemporaryDirectory(in: base, prefix: MountPointOwner.ownPrefix)
                made.append(dir)
                self.plan.storage.tempDir = dir
                hostArguments += ["--mount-tmpfs", "\(dir)=\(size)"]
            } else if self.plan.storage.tempDir == nil {
                self.plan.storage.tempDir = base
            }
            if self.plan.storage.destinationDir == nil {
                let dir = try FileTree.makeTemporaryDirectory(in: runDirectory, prefix: "destination-")
                made.append(dir)
                self.plan.storage.destinationDir = dir
            }
            if let size = plan.storage.destinationTmpfsBytes {
                hostArguments += ["--mount-tmpfs", "\(self.plan.storage.destinationDir!)=\(size)"]
            }
        } catch {
            removeAll()
            throw error
        }
        if !hostArguments.isEmpty, let availability { commandPrefix = availability.how }
    }

    /// Mount points a killed run left in the temp dir, removed before this process makes its first.
    static let sweptOnce: Void = {
        _ = MountPointOwner.sweepStale(in: TempDirectory.resolve(environment: ProcessEnvironment.current).path)
    }()

    /// Asked once per process: finding out starts `unshare … true`, and the answer does not change between runs.
    static let privateTmpfs = PrivateTmpfs.availability()

    /// Removes the mount points and the destination with whatever a killed child left in it.
    package func removeAll() {
        for dir in made.reversed() { FileTree.removeTree(dir) }
    }
}
