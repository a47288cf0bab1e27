@preconcurrency import Glibc
import HighwaterHarness
import HighwaterProbes
import Testing
import HighwaterSystem

/// A `highwater run` killed with SIGKILL leaves its empty tmpfs mount point in the temp dir (the tmpfs itself dies
/// with the child's namespace). The next run sweeps those whose owner is gone, and only those.
@Suite struct StaleMountPointTests {
    @Test func sweepsTheDeadOwnersAndKeepsTheLiving() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-stale")
        defer { TestSupport.removeTree(dir) }
        // A process that really ran and really ended: its pid and start time name a dead owner.
        let ended = try ChildProcess(["/bin/true"], stdout: .null, stderr: .null)
        _ = await ended.exit(timeoutNs: 10_000_000_000)
        let dead = dir + "/" + MountPointOwner.prefix + "\(ended.pid).12345-aaaaaa"
        let reused = dir + "/" + MountPointOwner.prefix + "\(getpid()).1-bbbbbb"  // our pid, another start time
        let live = try FileTree.makeTemporaryDirectory(in: dir, prefix: MountPointOwner.ownPrefix)
        let notOurs = dir + "/" + MountPointOwner.prefix + "something-else"
        let full = dir + "/" + MountPointOwner.prefix + "\(ended.pid).1-cccccc"
        for path in [dead, reused, notOurs, full] { #expect(mkdir(path, 0o700) == 0) }
        #expect(creat(full + "/file", 0o600) >= 0)

        let removed = MountPointOwner.sweepStale(in: dir).sorted()
        #expect(removed == [dead, reused].sorted())
        #expect(access(live, F_OK) == 0, "a live run's mount point stays")
        #expect(access(notOurs, F_OK) == 0, "a name we did not make stays")
        #expect(access(full, F_OK) == 0, "a directory with files in it stays")
    }

    @Test(.enabled(if: TestSupport.isRoot, "mounting a tmpfs needs root"))
    func aMountPointInUseStays() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-stale-mounted")
        defer { TestSupport.removeTree(dir) }
        let point = dir + "/" + MountPointOwner.prefix + "999999999.1-dddddd"
        #expect(mkdir(point, 0o700) == 0)
        #expect(mount("tmpfs", point, "tmpfs", 0, "size=1m") == 0)
        defer { _ = umount2(point, Int32(MNT_DETACH)) }
        #expect(MountPointOwner.sweepStale(in: dir).isEmpty)
        #expect(access(point, F_OK) == 0)
    }
}
