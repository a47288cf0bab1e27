import HighwaterRecords

/// The bodies the load driver sends a route of the user's own host: with `load.payload`, request `i` carries a JSON
/// document of the next size (cycled), `{"text":"…"}`, so a handler that decodes JSON has a body to decode and one
/// that transforms bytes has bytes of that size.
enum HandlerLoad {
    static let prefix = Array(#"{"text":""#.utf8)
    static let suffix = Array(#""}"#.utf8)

    /// nil (no body, GET) for the built-in workloads and for a host's route without `load.payload`.
    static func body(plan: RunPlan) -> (@Sendable (Int) -> RequestBody?)? {
        guard plan.host != nil, !plan.load.payloadBytes.isEmpty else { return nil }
        let sizes = plan.load.payloadBytes
        return { i in
            let size = Int(sizes[i % sizes.count])
            return RequestBody(contentType: "application/json", headers: [("x-highwater-payload", "\(size)")], prefix: prefix,
                               fillBytes: max(0, size - prefix.count - suffix.count), suffix: suffix)
        }
    }
}
