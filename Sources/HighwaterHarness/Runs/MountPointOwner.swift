@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem

/// Names the empty tmpfs mount points `run` makes in the temp dir after the process that made them
/// (`highwater-tmpfs-PID.STARTTIME-xxxxxx`), so a later run can tell one a SIGKILLed run left behind from one a
/// live run is using, and sweep the first kind. The tmpfs itself lives in the child's mount namespace and dies
/// with it; only the directory can outlive a killed parent.
package enum MountPointOwner {
    package static let prefix = "highwater-tmpfs-"

    /// The prefix for a new mount point owned by this process.
    package static var ownPrefix: String { prefix + OwnedDirectory.current + "-" }

    /// Removes mount points in `directory` whose owner has exited. Only empty directories go (`rmdir`), so one
    /// with a tmpfs still mounted on it (EBUSY) or with files in it stays. Returns the paths removed.
    @discardableResult
    package static func sweepStale(in directory: String) -> [String] {
        OwnedDirectory.sweepStale(in: directory, prefix: prefix, contents: false)
    }
}
