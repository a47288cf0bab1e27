@preconcurrency import Glibc
import HighwaterProbes
import Testing

@Suite("Filesystems and cgroups")
struct FilesystemAndCgroupTests {
    @Test("a 16 MiB tmpfs reports 16 MiB capacity and type tmpfs", .enabled(if: TestSupport.isRoot, "mounting a tmpfs needs root"))
    func tmpfsCapacity() throws {
        try #require(TestSupport.isRoot, "mounting a tmpfs needs root")
        try TestSupport.withTmpfs(size: 16 << 20) { dir in
            let usage = try FilesystemProbe.usage(of: dir)
            #expect(usage.type == "tmpfs")
            #expect(usage.isTmpfs)
            #expect(usage.capacity == 16 << 20)
            #expect(usage.mountPoint == dir)
            // Writing 4 MiB shows up as used.
            let fd = open(dir + "/fill", O_WRONLY | O_CREAT, 0o600)
            let chunk = [UInt8](repeating: 7, count: 1 << 20)
            for _ in 0..<4 { _ = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
            close(fd)
            #expect(try FilesystemProbe.usage(of: dir).used >= 4 << 20)
        }
    }

    @Test("mountinfo lookup picks the longest mount point and unescapes spaces")
    func mountinfoLookup() throws {
        let info = """
            22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
            30 22 0:27 / /tmp rw - tmpfs tmpfs rw,size=1012736k
            31 22 0:28 / /mnt/my\\040disk rw - xfs /dev/sdb rw
            """
        #expect(try FilesystemProbe.mountEntry(containing: "/tmp/upload", mountinfo: info) == ("/tmp", "tmpfs"))
        #expect(try FilesystemProbe.mountEntry(containing: "/tmpx", mountinfo: info) == ("/", "ext4"))
        #expect(try FilesystemProbe.mountEntry(containing: "/mnt/my disk/a", mountinfo: info) == ("/mnt/my disk", "xfs"))
    }

    @Test("a statvfs of a missing path names it")
    func missingPath() {
        #expect(throws: ProbeError.self) { _ = try FilesystemProbe.usage(of: "/no/such/dir") }
    }

    @Test("cgroup v2 readings or a clear reason they are absent")
    func cgroup() {
        do {
            let reading = try CgroupProbe.read()
            #expect(reading.path.hasPrefix("/sys/fs/cgroup"))
        } catch let e as ProbeError {
            // cgroup v1 hosts: the reason is said, nothing crashes.
            #expect(!e.description.isEmpty)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
