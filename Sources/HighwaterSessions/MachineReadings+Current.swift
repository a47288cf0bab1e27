import HighwaterProbes
import HighwaterScenarios

extension MachineReadings {
    /// This machine's figures a limits file is checked against (`check --limits`, `watch --limits`): the cgroup's
    /// memory.max and the filesystem of each path a limit names.
    package static var current: MachineReadings {
        MachineReadings(cgroupMemoryMax: try? CgroupProbe.read().memoryMax) { path in
            (try? FilesystemProbe.usage(of: path)).map { ($0.capacity, $0.isTmpfs) }
        }
    }
}
