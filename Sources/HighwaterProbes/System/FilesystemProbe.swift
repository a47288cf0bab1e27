@preconcurrency import Glibc
import HighwaterSystem

/// What a directory's filesystem is and how full it is.
package struct FilesystemUsage: Equatable, Sendable, Codable {
    package var path: String
    /// The mount point that holds `path`.
    package var mountPoint: String
    /// The filesystem type from mountinfo (`tmpfs`, `ext4`, …).
    package var type: String
    package var capacity: UInt64
    package var free: UInt64
    /// Free to an unprivileged user (statvfs f_bavail).
    package var available: UInt64
    package var used: UInt64 { capacity - free }
    package var isTmpfs: Bool { type == "tmpfs" }
}

package enum FilesystemProbe {
    package static func usage(of path: String) throws -> FilesystemUsage {
        let st: FilesystemStatus
        do { st = try Syscall.filesystemStatus(path) } catch { throw ProbeError(error) }
        let block = UInt64(st.f_frsize)
        let mount = try mountEntry(containing: path)
        return FilesystemUsage(path: path, mountPoint: mount.point, type: mount.type,
                               capacity: UInt64(st.f_blocks) * block, free: UInt64(st.f_bfree) * block,
                               available: UInt64(st.f_bavail) * block)
    }

    /// Bytes in use on the filesystem holding `path`: one `statvfs`, no mount lookup, for every sample.
    package static func used(of path: String) throws -> UInt64 {
        let st: FilesystemStatus
        do { st = try Syscall.filesystemStatus(path) } catch { throw ProbeError(error) }
        return (UInt64(st.f_blocks) - UInt64(st.f_bfree)) * UInt64(st.f_frsize)
    }

    /// The longest mount point in /proc/self/mountinfo that is a prefix of the resolved path.
    package static func mountEntry(containing path: String) throws -> (point: String, type: String) {
        let resolved = Syscall.realPath(path) ?? path
        let info = try ProcFile.read("/proc/self/mountinfo")
        return try mountEntry(containing: resolved, mountinfo: info)
    }

    /// Pure lookup over mountinfo text; the last matching mount wins, as mounts stack.
    package static func mountEntry(containing resolved: String, mountinfo: String) throws -> (point: String, type: String) {
        var best: (point: String, type: String)?
        for line in mountinfo.split(separator: "\n") {
            // id parent major:minor root mountpoint options [optional…] - fstype source superoptions
            let fields = line.split(separator: " ")
            guard fields.count >= 7, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            let point = unescapeOctal(String(fields[4]))
            let within = point == "/" || resolved == point || resolved.hasPrefix(point + "/")
            if within, point.count >= (best?.point.count ?? 0) {
                best = (point, String(fields[dash + 1]))
            }
        }
        guard let best else { throw ProbeError(.malformed("no mount contains \(resolved)"), path: "/proc/self/mountinfo") }
        return best
    }

    /// mountinfo writes spaces and other bytes in paths as \ooo.
    static func unescapeOctal(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
               let v = UInt8(String(decoding: b[(i + 1)..<min(i + 4, b.count)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
