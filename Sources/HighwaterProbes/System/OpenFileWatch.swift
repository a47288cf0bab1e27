@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

/// Who fills a watched directory: the files a process tree holds open in it, and the deleted ones anywhere on its
/// filesystem, read from `/proc/PID/fd` (readlink for the path, stat through the /proc link for the size, which works
/// after the file is unlinked). `ls` cannot see a spooled upload that was unlinked at once; `df` counts it, and so
/// does this. Lines go to `open-files.jsonl` when a file is first seen and when its size changes.
final class OpenFileWatch {
    private struct Watched {
        let dir: String
        let device: UInt64
        /// The directory as the kernel names it (symlinks resolved), with a trailing `/`.
        let prefix: String
    }

    private struct Key: Hashable {
        let pid: Int32
        let fd: Int32
        let path: String
    }

    private let watched: [Watched]
    private let output: AppendOnlyFile
    private var holders: [Key: TempFileHolder] = [:]
    private var lastSize: [Key: UInt64] = [:]
    private var names: [Int32: String] = [:]
    private var line = JSONLine(capacity: 512)
    private var buffer = [UInt8](repeating: 0, count: 4096)

    init(dirs: [String], appendingTo path: String) throws {
        watched = try dirs.map { dir in
            let st: FileStatus
            do throws(SystemError) { st = try Syscall.status(dir) } catch { throw ProbeError(error) }
            let real = Syscall.realPath(dir) ?? dir
            return Watched(dir: dir, device: UInt64(st.st_dev), prefix: real.hasSuffix("/") ? real : real + "/")
        }
        do { output = try AppendOnlyFile(path, truncate: true) } catch { throw ProbeError(error) }
    }

    /// Looks at every descriptor of `pids` now.
    func scan(pids: [Int32], at t: UInt64, wall: UInt64) {
        var present = Set<Key>()
        for pid in pids {
            OpenDescriptors.forEachFile(of: pid, buffer: &buffer) { file in
                guard let w = watched.first(where: { $0.device == file.device }) else { return }
                let (fd, target, deleted, size) = (file.fd, file.path, file.deleted, file.size)
                // On a filesystem shared with everything else (a /tmp on /), only what is in the directory, or
                // deleted and so invisible to `ls` while it still takes space, tells who fills it.
                guard deleted || target.hasPrefix(w.prefix) else { return }
                let key = Key(pid: pid, fd: fd, path: target)
                present.insert(key)
                let name = names[pid] ?? ProcessTree.name(of: pid)
                names[pid] = name
                if var h = holders[key] {
                    h.size_peak = max(h.size_peak, size)
                    h.last_seen_ns = t
                    h.deleted = h.deleted || deleted
                    holders[key] = h
                } else {
                    holders[key] = TempFileHolder(dir: w.dir, pid: pid, process: name, path: target, deleted: deleted,
                                                  size_peak: size, first_seen_ns: t, last_seen_ns: t)
                }
                if lastSize[key] != size {
                    lastSize[key] = size
                    var record = OpenFileRecord(t_ns: t, pid: pid, process: name, fd: fd, path: target, deleted: deleted,
                                                size: size, dir: w.dir)
                    record.t_unix_ns = wall
                    record.write(to: &line)
                    try? output.append(line.bytes)
                }
            }
        }
        // A descriptor closed and reused for another file is another holder; its last size is forgotten.
        for key in lastSize.keys where !present.contains(key) { lastSize[key] = nil }
    }

    /// Every file seen, largest first.
    var seen: [TempFileHolder] {
        holders.values.sorted { $0.size_peak != $1.size_peak ? $0.size_peak > $1.size_peak : $0.first_seen_ns < $1.first_seen_ns }
    }
}
