/// The figures a workload added to its run (`summary.json`'s `workload`): one JSON object of numbers keyed by each
/// figure's name, as before; names this build does not list are kept as `unlisted` figures and written back as read.
package struct WorkloadFigures: Codable, Equatable, Sendable {
    private var values: [WorkloadFigure: Double]

    package init(_ values: [WorkloadFigure: Double] = [:]) { self.values = values }

    package subscript(_ figure: WorkloadFigure) -> Double? {
        get { values[figure] }
        set { values[figure] = newValue }
    }

    package var isEmpty: Bool { values.isEmpty }
    /// The figures present, by name.
    package var figures: [WorkloadFigure] { values.keys.sorted() }
    /// The figures present with their values, by name.
    package var all: [(figure: WorkloadFigure, value: Double)] { figures.map { ($0, values[$0]!) } }

    /// A figure as a person reads it, in its unit; nil when the run did not report it.
    package func formatted(_ figure: WorkloadFigure) -> String? { values[figure].map(figure.unit.format) }

    package init(from decoder: Decoder) throws {
        let object = try decoder.singleValueContainer().decode([String: Double].self)
        values = Dictionary(uniqueKeysWithValues: object.map { (WorkloadFigure(name: $0.key), $0.value) })
    }

    package func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Dictionary(uniqueKeysWithValues: values.map { ($0.key.name, $0.value) }))
    }
}
