@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// A real nginx in front of the host for `download-accel`, as production runs it: the client talks to nginx, nginx
/// proxies to the host, and serves the file itself when the host answers `X-Accel-Redirect`. Its config, pid file,
/// logs and temp paths live in a private temp dir; it listens on a free loopback port, runs as our child (not a
/// daemon), and `stop` ends it and removes the dir. A Ctrl-C reaches it too (same process group) and ends it at once.
/// If Highwater is killed outright, a watcher holding the lifeline (a shell waiting on its end of the pipe) sees the
/// pipe close, ends nginx and removes the dir: nginx is not ours to run as a lifeline child, so it gets a keeper.
package final class NginxOffload: @unchecked Sendable {
    package let port: Int
    package let directory: String
    package let process: ChildProcess
    private var keeper: ChildProcess?

    /// Debian's nginx: `HIGHWATER_NGINX` when set (also to show what a machine without nginx does), else on PATH, or
    /// in /usr/sbin, which a non-root PATH often lacks.
    package static func locate() -> String? {
        if let chosen = ProcessEnvironment.current["HIGHWATER_NGINX"] { return Syscall.canAccess(chosen, X_OK) ? chosen : nil }
        let path = ProcessEnvironment.current["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin"] {
            let candidate = dir + "/nginx"
            if Syscall.canAccess(candidate, X_OK) { return candidate }
        }
        return nil
    }

    /// Starts nginx proxying to the host on `upstreamPort` and serving `filesDirectory` at `location` (internal only).
    /// - Throws: `NginxError.missing` when nginx is not installed; `.didNotStart` with its error log otherwise.
    package init(upstreamPort: Int, filesDirectory: String, location: String, tempBase: String) throws {
        guard let nginx = Self.locate() else { throw NginxError.missing }
        directory = try FileTree.makeTemporaryDirectory(in: tempBase, prefix: "highwater-nginx-")
        do {
            port = try LoopbackPort.free()
            let config = Self.configuration(directory: directory, port: port, upstreamPort: upstreamPort,
                                            filesDirectory: filesDirectory, location: location, asRoot: getuid() == 0)
            try FileTree.writeAtomically(config, to: directory + "/nginx.conf")
            process = try ChildProcess([nginx, "-e", directory + "/error.log", "-p", directory, "-c", directory + "/nginx.conf"],
                                       stdout: .file(directory + "/stdout.log"), stderr: .file(directory + "/stderr.log"))
        } catch {
            FileTree.removeTree(directory)
            throw error
        }
        keeper = try? ChildProcess(["/bin/sh", "-c", Self.keeperScript(nginx: process.pid, directory: directory)],
                                   stdout: .null, stderr: .null, lifeline: true)
        if let why = waitUntilListening() {
            let log = (FileTree.tail(directory + "/error.log", lines: 5) ?? "") + (FileTree.tail(directory + "/stderr.log", lines: 5) ?? "")
            stop()
            throw NginxError.didNotStart(why + (log.isEmpty ? "" : ": " + log))
        }
    }

    deinit { stop() }

    /// Fast shutdown (SIGTERM: the master ends its workers and waits for them), then the dir goes.
    package func stop() {
        if let keeper, keeper.poll() == nil { keeper.signal(SIGKILL); _ = keeper.wait() }
        process.terminate(grace: 5_000_000_000)
        FileTree.removeTree(directory)
    }

    /// Reads the lifeline (fd 3) until it closes, which happens only when Highwater is gone; then ends nginx's master
    /// (it ends its workers), waits for it, and removes its directory. `stop` kills the keeper first in a normal end.
    static func keeperScript(nginx pid: Int32, directory: String) -> String {
        let quoted = "'" + directory.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
        // At most 10 s of waiting: where pid 1 reaps no orphans, the ended master stays a zombie that kill -0 still finds.
        return "while read -r _ <&\(Lifeline.childDescriptor); do :; done; kill -TERM \(pid) 2>/dev/null; i=0; "
            + "while kill -0 \(pid) 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; rm -rf \(quoted)"
    }

    /// The master and its workers: what nginx costs is the sum of them.
    package func processIDs() -> [Int32] {
        [process.pid] + Self.children(of: process.pid)
    }

    /// The worker that serves (one worker process).
    package var workerPID: Int32? { Self.children(of: process.pid).first }

    /// The processes whose parent is `pid`, from /proc/PID/stat (the fourth field, after the name's last `)`).
    static func children(of pid: Int32) -> [Int32] {
        let names = (try? ProcDirectory.names("/proc")) ?? []
        return names.compactMap { name -> Int32? in
            guard let child = Int32(name), let stat = try? ProcFile.read("/proc/\(name)/stat"),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid ? child : nil
        }.sorted()
    }

    private func waitUntilListening() -> String? {
        let deadline = MonotonicClock.nanoseconds() + 10_000_000_000
        while MonotonicClock.nanoseconds() < deadline {
            if let end = process.poll() { return "nginx ended with \(end)" }
            if LoopbackPort.accepts(port), workerPID != nil { return nil }
            MonotonicClock.sleep(nanoseconds: 5_000_000)
        }
        return "nginx did not listen on 127.0.0.1:\(port) within 10 s"
    }

    static func configuration(directory: String, port: Int, upstreamPort: Int, filesDirectory: String, location: String,
                              asRoot: Bool) -> String {
        """
        # Written by Highwater for one download-accel run; removed with its directory when the run ends.
        daemon off;
        master_process on;
        worker_processes 1;
        pid \(directory)/nginx.pid;
        error_log \(directory)/error.log warn;
        \(asRoot ? "user root root;" : "")
        events { worker_connections 4096; }
        http {
            access_log off;
            sendfile on;
            tcp_nopush on;
            default_type application/octet-stream;
            client_body_temp_path \(directory)/client_body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            upstream highwater_host {
                server 127.0.0.1:\(upstreamPort);
                keepalive 64;
            }
            server {
                listen 127.0.0.1:\(port);
                location / {
                    proxy_pass http://highwater_host;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                }
                location \(location) {
                    internal;
                    alias \(filesDirectory)/;
                }
            }
        }

        """
    }
}

package enum NginxError: Error, CustomStringConvertible, Equatable {
    case missing
    case didNotStart(String)

    package var description: String {
        switch self {
        case .missing:
            return "download-accel needs nginx, which is not installed (looked in HIGHWATER_NGINX, PATH and /usr/sbin): install it with `apt-get install nginx` or `scripts/install-deps`"
        case .didNotStart(let why):
            return "nginx did not start: \(why)"
        }
    }
}
