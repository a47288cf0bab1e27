@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem

/// A tmpfs of a chosen size, mounted by the hosted child inside its own mount namespace: the harness starts the
/// child under `unshare` (the prefix `availability().how` gives), the child mounts early, and the mount vanishes
/// with the namespace when the child exits, also on SIGKILL.
package enum PrivateTmpfs {
    /// Mounts a tmpfs of `size` bytes (rounded up to pages by the kernel) at `path`, creating the directory if absent.
    /// nosuid and nodev because uploaded bytes are untrusted.
    package static func mount(at path: String, size: UInt64, mode: mode_t = 0o1777) throws(UploadError) {
        if (try? Syscall.status(path)) == nil {
            do { try Syscall.mkdir(path, mode: 0o700) } catch { throw UploadError(error) }
        }
        let options = "size=\(size),mode=\(String(mode, radix: 8))"
        do { try Syscall.mountTmpfs(at: path, options: options) } catch { throw UploadError(error) }
    }

    /// Lazily detaches the tmpfs at `path`: busy files keep their pages until closed, the name is free at once.
    package static func unmount(at path: String) throws(UploadError) {
        do { try Syscall.unmountDetached(path) } catch { throw UploadError(error) }
    }

    /// Is a tmpfs mounted exactly at `path` (as this process sees mounts)?
    package static func isMounted(at path: String) -> Bool {
        guard let entry = try? FilesystemProbe.mountEntry(containing: path) else { return false }
        let resolved = Syscall.realPath(path) ?? path
        return entry.type == "tmpfs" && entry.point == resolved
    }

    package struct Availability: Equatable, Sendable {
        /// Can a child started with `how` mount a private tmpfs?
        package var possible: Bool
        /// The command prefix that starts the child in its own mount namespace (util-linux unshare), empty if impossible.
        package var how: [String]
        /// Why it is possible, or what is missing, in words for the user.
        package var why: String
    }

    /// Checks root with CAP_SYS_ADMIN, `unshare` on PATH, or unprivileged user namespaces, and then tries the prefix
    /// once with `true` (a seccomp filter or an AppArmor rule can refuse what the sysctls allow).
    package static func availability(environment: [String: String] = ProcessEnvironment.current,
                                    tryIt: Bool = true) -> Availability {
        guard let unshare = Executable.find("unshare", path: environment["PATH"] ?? "/usr/bin:/bin:/usr/sbin:/sbin") else {
            return Availability(possible: false, how: [],
                                why: "unshare (util-linux) is not on PATH; install util-linux, or set storage.temp_dir to a directory you mounted yourself")
        }
        var reasons: [String] = []
        var candidates: [([String], String)] = []
        if geteuid() == 0 {
            if hasCapSysAdmin() {
                candidates.append(([unshare, "--mount", "--propagation", "private", "--"], "running as root with CAP_SYS_ADMIN"))
            } else {
                reasons.append("root without CAP_SYS_ADMIN (a container without privileges)")
            }
        } else {
            reasons.append("not root")
        }
        let userns = userNamespacesAllowed()
        if userns.allowed {
            candidates.append(([unshare, "--user", "--map-root-user", "--mount", "--propagation", "private", "--"],
                               "unprivileged user namespaces are allowed"))
        } else {
            reasons.append(userns.why)
        }
        for (how, why) in candidates {
            guard tryIt else { return Availability(possible: true, how: how, why: why) }
            let trial = (try? ChildProcess(how + ["true"], stdout: .null, stderr: .null))?.wait(timeoutNs: 10_000_000_000)
            if trial == .exited(0) { return Availability(possible: true, how: how, why: why + "; `\((how + ["true"]).joined(separator: " "))` succeeded") }
            reasons.append("`\((how + ["true"]).joined(separator: " "))` failed (\(trial.map { "\($0)" } ?? "did not finish"))")
        }
        return Availability(possible: false, how: [],
                            why: "cannot mount a private tmpfs: " + reasons.joined(separator: "; ")
                                + "; set storage.temp_dir to a directory you mounted yourself (a tmpfs of the size you want) instead")
    }

    /// Bit 21 of CapEff in /proc/self/status.
    static func hasCapSysAdmin() -> Bool {
        guard let status = try? ProcFile.read("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(), radix: 16) else { return false }
        return mask & (1 << 21) != 0
    }

    static func userNamespacesAllowed() -> (allowed: Bool, why: String) {
        func number(_ path: String) -> Int? {
            (try? ProcFile.read(path)).flatMap { Int($0.trimmingCharacters()) }
        }
        if let max = number("/proc/sys/user/max_user_namespaces"), max == 0 {
            return (false, "user namespaces are off (/proc/sys/user/max_user_namespaces is 0)")
        }
        if let clone = number("/proc/sys/kernel/unprivileged_userns_clone"), clone == 0 {
            return (false, "unprivileged user namespaces are off (/proc/sys/kernel/unprivileged_userns_clone is 0)")
        }
        if let apparmor = number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"), apparmor == 1 {
            return (false, "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)")
        }
        return (true, "")
    }
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

/// Is this process in a mount namespace of its own (not its parent's)? A mount made here then stays here.
package enum PrivateMounts {
    package static func isPrivate() -> Bool {
        func namespace(_ pid: String) -> String? { Syscall.readLink("/proc/\(pid)/ns/mnt") }
        guard let mine = namespace("self"), let parents = namespace("\(getppid())") else { return false }
        return mine != parents
    }
}
