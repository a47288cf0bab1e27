import HighwaterRecords
import HighwaterHost

/// A workload's options as a scenario wrote them, read with errors that name the option and what it takes.
struct WorkloadOptions {
    let workload: RunPlan.Workload

    init(_ workload: RunPlan.Workload) { self.workload = workload }

    func bytes(_ key: String, _ fallback: Int) throws -> Int {
        guard let text = workload.options[key] else { return fallback }
        guard let v = Quantity.bytes(text), v > 0 else { throw bad(key, text, "a size such as 8 MiB") }
        return Int(v)
    }

    func optionalBytes(_ key: String) throws -> UInt64? {
        guard workload.options[key] != nil else { return nil }
        return UInt64(try bytes(key, 0))
    }

    func flag(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let text = workload.options[key] else { return fallback }
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw bad(key, text, "true or false")
        }
    }

    func duration(_ key: String, _ fallback: UInt64) throws -> UInt64 {
        guard let text = workload.options[key] else { return fallback }
        guard let v = Quantity.nanoseconds(text) else { throw bad(key, text, "a duration such as 5ms") }
        return v
    }

    func choice(_ key: String, _ choices: [String]) throws -> String {
        guard let text = workload.options[key] else { return choices[0] }
        guard choices.contains(text) else { throw bad(key, text, "one of " + choices.joined(separator: ", ")) }
        return text
    }

    private func bad(_ key: String, _ value: String, _ expected: String) -> HarnessError {
        .badOption(workload: workload.name, option: key, value: value, expected: expected)
    }
}
