@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

/// A host of the user's own, as a configuration starts it: a command checked before it starts, or a package built
/// once per `highwater run` (`swift build -c release`, its progress and errors on the terminal) and its product run.
package enum UserHost {
    /// Why the user's host could not be started; the configuration is not run (exit 3), the others are.
    package struct Failure: Error, CustomStringConvertible {
        /// What went wrong, naming the command or the package.
        package var description: String
    }

    /// Each package's build in this process, so the configurations of a sweep build it once; a configuration that
    /// comes while it builds waits for that build rather than starting another.
    private actor Builds {
        var started: [String: Task<Result<String, Failure>, Never>] = [:]

        func result(package: String, product: String) async -> Result<String, Failure> {
            let key = package + "\u{0}" + product
            if let task = started[key] { return await task.value }
            let task = Task { await UserHost.build(package: package, product: product) }
            started[key] = task
            return await task.value
        }
    }

    private static let builds = Builds()

    /// The executable to start for `host`: its command, or its package's product after building it.
    package static func executable(for host: HostProgram) async throws(Failure) -> String {
        if let command = host.command {
            guard Syscall.canAccess(command, X_OK), !FileTree.isDirectory(command) else {
                throw Failure(description: "the host command \(command) is not an executable file; build it (swift build -c release --product NAME) or name it by `host: {package: DIR, product: NAME}`")
            }
            return command
        }
        guard let package = host.package, let product = host.product else {
            throw Failure(description: "the host \(host.described) names neither a command nor a package and product")
        }
        return try await builds.result(package: package, product: product).get()
    }

    /// `swift build -c release --package-path DIR --product NAME`, its output on this terminal as it comes.
    static func build(package: String, product: String) async -> Result<String, Failure> {
        guard FileTree.isDirectory(package), Syscall.canAccess(package + "/Package.swift", R_OK) else {
            return .failure(Failure(description: "the host package \(package) has no Package.swift"))
        }
        let command = ["swift", "build", "-c", "release", "--package-path", package, "--product", product]
        Terminal.line("building the host: \(command.joined(separator: " "))")
        let termination: Termination?
        do {
            termination = await (try ChildProcess(command, stdout: .inherit, stderr: .inherit)).exit()
        } catch {
            return .failure(Failure(description: "cannot start `swift build` for the host package \(package): \(error)"))
        }
        guard termination == .exited(0) else {
            return .failure(Failure(description: "`\(command.joined(separator: " "))` failed (\(termination.map(\.description) ?? "did not end")); the compiler's errors are above"))
        }
        let binary = package + "/.build/release/" + product
        guard Syscall.canAccess(binary, X_OK) else {
            return .failure(Failure(description: "the build of \(package) made no \(binary): is \(product) an executable product?"))
        }
        return .success(binary)
    }
}
