@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem

/// What a Highwater process killed outright (SIGKILL, a crash) leaves behind, removed by the next one as it starts:
/// tmpfs mount points and download files in the temp dir, the agent's live files in /dev/shm, and the cgroups of
/// its started commands with anything still in them. Each is named after its owner, so only a dead owner's go.
package enum Leftovers {
    /// Once per process, before the first thing it starts.
    package static func sweep() { _ = swept }

    private static let swept: Void = {
        let temp = TempDirectory.resolve(environment: ProcessEnvironment.current).path
        _ = MountPointOwner.sweepStale(in: temp)
        for (directory, prefix) in [(temp, "highwater-files-"), (temp, AgentLiveHeap.directoryPrefix), ("/dev/shm", AgentLiveHeap.directoryPrefix)] {
            OwnedDirectory.sweepStale(in: directory, prefix: prefix, contents: true)
        }
        ProcessContainer.sweepStale()
    }()
}
