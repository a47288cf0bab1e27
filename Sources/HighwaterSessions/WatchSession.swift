import HighwaterHarness
import HighwaterScenarios
import HighwaterSystem
import HighwaterWatch

/// `highwater watch`: a `Watch` over the targets the spec names, its limits file read and judged before anything is
/// served, until Ctrl-C or the end of a command it started; its failures as exit statuses.
package struct WatchSession: Sendable {
    /// Which processes are watched.
    package enum Target: Sendable {
        case pids([Int32])
        /// A regular expression over each process's command line.
        case match(String)
        /// A command started and watched until it exits.
        case command([String])
    }

    package struct Spec: Sendable {
        package var target: Target
        package var intervalNs: UInt64 = 1_000_000_000
        /// HOST:PORT, as given.
        package var listen = "127.0.0.1:9464"
        package var allowRemote = false
        package var watchDir: String?
        /// A limits file, each limit's headroom served against the watched figures.
        package var limits: String?
        /// The allocation agent preloaded into the command.
        package var agent = false

        package init(target: Target) { self.target = target }

        /// What is wrong with the spec before anything is served, first problem first (bad usage: exit 2).
        package func problems() -> [String] {
            var found: [String] = []
            if case .pids(let pids) = target {
                for p in pids where p <= 0 { found.append("--pid \(p) is not a process ID; give the PID of a running process.") }
                for p in pids where p > 0 && !Syscall.processExists(p) { found.append("No process has PID \(p).") }
            }
            if let address = ListenAddress(parsing: listen) {
                if !address.isLoopback && !allowRemote {
                    found.append("--listen \(listen) is not a loopback address: the metrics name processes and their commands, and heap profiles show code. Add --allow-remote to serve there on purpose, or listen on 127.0.0.1 behind your scraper's proxy.")
                }
            } else {
                found.append("--listen '\(listen)' is not HOST:PORT; give e.g. 127.0.0.1:9464 or [::1]:0.")
            }
            if let watchDir, !FileTree.isDirectory(watchDir) {
                found.append("--watch-dir '\(watchDir)' is not a directory; give the directory the targets write temporary files to (e.g. /tmp).")
            }
            if agent {
                if case .command = target {} else { found.append("--agent preloads into a command watch starts; give one after `--`.") }
                if let refusal = AgentPreload.refusal(environment: ProcessEnvironment.current) { found.append(refusal) }
            }
            return found
        }
    }

    package let spec: Spec

    package init(_ spec: Spec) { self.spec = spec }

    /// Serves and samples until `stop` says so or a command it started exits; `ready` gets the address it serves
    /// on once bound. Returns why it ended.
    @discardableResult
    package func run(ready: (ListenAddress) -> Void, stop: () -> Bool) throws -> String {
        if let problem = spec.problems().first { throw HighwaterFailure.badInput(problem) }
        let configuration = try self.configuration()
        do {
            let watch = try Watch(configuration)
            return try watch.run(ready: { port in
                var bound = configuration.listen
                bound.port = port
                ready(bound)
            }, stop: stop)
        } catch .badInput(let message) {
            throw HighwaterFailure.badInput(message)
        } catch {
            throw HighwaterFailure.couldNotRun(error.description)
        }
    }

    /// The watch's configuration: the command's agent found, the limits file read and judged (bad input: exit 2).
    func configuration() throws -> Watch.Configuration {
        var configuration: Watch.Configuration
        switch spec.target {
        case .pids(let pids):
            configuration = .init(targets: .pids(pids))
        case .match(let pattern):
            configuration = .init(targets: .match(pattern))
        case .command(let command):
            let library: String?
            do { library = spec.agent ? try AgentPreload.library(for: command, besideExecutable: Executable.current) : nil } catch {
                throw HighwaterFailure.couldNotRun(error.description)
            }
            configuration = .init(targets: .command(command, agent: library))
        }
        configuration.intervalNs = spec.intervalNs
        configuration.listen = ListenAddress(parsing: spec.listen) ?? .default
        configuration.watchDir = spec.watchDir
        if let limits = spec.limits {
            // Before anything is served: a limits file that does not parse is bad input (exit 2).
            let service: ServiceLimits
            do { service = try ServiceLimits.load(path: limits) } catch { throw HighwaterFailure.badFiles(error.description) }
            do { configuration.limits = (service, try LimitsCheck.evaluate(service, readings: .current)) } catch {
                throw HighwaterFailure.badFiles("\(error)")
            }
        }
        return configuration
    }
}
