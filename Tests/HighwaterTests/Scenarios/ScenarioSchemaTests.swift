@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterProbes
@testable import HighwaterScenarios
import Testing

/// `scenarios/schema.json` against the files in the repository, against the loader's own tables, and the CLI's
/// answer to broken files.
@Suite("Scenario schema")
struct ScenarioSchemaTests {
    static let schemaPath = "scenarios/schema.json"

    /// python3 with `jsonschema` and `yaml` importable, the validator the schema is checked with.
    static let pythonValidator: Bool = TestSupport.succeeds(["python3", "-c", "import jsonschema, yaml"])

    /// Validates YAML files against the schema in a python3 child: limits files (`limits*.yaml`) against
    /// `#/$defs/limits`, the others against the whole schema. One JSON line per file with its errors.
    static let validatorScript = """
        import json, os, sys, jsonschema, yaml
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        limits = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/limits"}
        for path in sys.argv[2:]:
            chosen = limits if os.path.basename(path).startswith("limits") else schema
            errors = [e.message[:300] for e in jsonschema.Draft202012Validator(chosen).iter_errors(yaml.safe_load(open(path)))]
            print(json.dumps({"file": path, "errors": errors}))
        """

    struct Verdict: Decodable { var file: String; var errors: [String] }

    static func validate(_ files: [String]) async throws -> [String: [String]] {
        let r = await TestSupport.run(["python3", "-c", validatorScript, schemaPath] + files)
        try #require(r.termination == .exited(0), "the validator failed: \(r.stderr)")
        var verdicts: [String: [String]] = [:]
        for line in r.stdout.split(separator: "\n") {
            let v = try JSONDecoder().decode(Verdict.self, from: Data(line.utf8))
            verdicts[v.file] = v.errors
        }
        return verdicts
    }

    static func yamlFiles(in directory: String) throws -> [String] {
        try ScenarioLoader.scenarioFiles(in: directory)
    }

    /// Broken cases of `BrokenScenarioTable` whose fault is in one value or key, which a schema can see (the
    /// others need two settings together, such as warm-up against requests, or are not YAML at all).
    static let casesTheSchemaRejects = [
        "unknown top-level key", "unknown executor key", "unknown executor kind", "unknown workload", "negative size",
        "zero size", "size not a count", "requests not a number", "requests zero", "negative tmpfs", "bad size unit",
        "zero tmpfs", "bad duration", "sweep of an empty list", "sweep of a scalar", "sweep not a mapping",
        "sweep of an unknown path", "sweep with a bad value", "executor as a scalar", "list where a value goes",
        "unknown workload option", "flag not a flag", "not a mapping", "expectation without operator",
        "expectation on unknown field", "where on an unknown key", "expectation key typo", "empty variants",
        "temp_dir relative", "rate negative", "bad scenario name",
    ]

    @Test(.enabled(if: pythonValidator, "python3 with jsonschema and yaml is not importable (pip install jsonschema pyyaml)"))
    func everyScenarioAndExampleFileValidates() async throws {
        let files = try Self.yamlFiles(in: "scenarios") + Self.yamlFiles(in: "examples")
        #expect(files.count >= 7)
        let verdicts = try await Self.validate(files)
        for file in files {
            let errors = try #require(verdicts[file], "no verdict for \(file)")
            #expect(errors.isEmpty, "\(file): \(errors)")
        }
        // Each file is also what its loader accepts, so the schema is not more lenient in what it was checked on.
        let examples = try Self.yamlFiles(in: "examples")
        for file in examples where file.split(separator: "/").last!.hasPrefix("limits") {
            _ = try ServiceLimits.load(path: file)
        }
        _ = try ScenarioLoader(cores: 2).load(paths: ["scenarios"] + examples.filter { !$0.split(separator: "/").last!.hasPrefix("limits") })
    }

    @Test(.enabled(if: pythonValidator, "python3 with jsonschema and yaml is not importable (pip install jsonschema pyyaml)"))
    func schemaRejectsWhatTheLoaderRejectsInOneValue() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-schema")
        defer { TestSupport.removeTree(dir) }
        var files: [String: String] = [:]
        for (k, name) in Self.casesTheSchemaRejects.enumerated() {
            let (_, text, _) = try #require(BrokenScenarioTable.cases.first { $0.0 == name }, "no case \(name)")
            let path = "\(dir)/broken-\(k).yaml"
            try Data(text.utf8).write(to: URL(filePath: path))
            files[path] = name
        }
        let verdicts = try await Self.validate(files.keys.sorted())
        for (path, name) in files {
            #expect(verdicts[path]?.isEmpty == false, "the schema accepts the broken case “\(name)”")
        }
    }

    /// The definition each kind of setting must point at in the schema.
    static func definition(for kind: ScenarioField.Kind) -> String {
        switch kind {
        case .text: return "text"
        case .choice(let choices):
            return [RunPlan.executorKinds: "executorKind", RunPlan.workloads: "workloadName",
                    ScenarioField.uploadEncodings: "uploadEncoding", ScenarioField.downstreamFaults: "downstreamFault",
                    ScenarioField.loadUntil: "loadUntil"][choices] ?? "an unknown choice list"
        case .count: return "count"
        case .integer(let minimum): return "integerAtLeast\(minimum)"
        case .positiveNumber: return "positiveNumber"
        case .bytes(let positive): return positive ? "positiveSize" : "size"
        case .byteList: return "sizes"
        case .duration: return "duration"
        case .flag: return "flag"
        case .environmentValue: return "environmentValue"
        case .absolutePath: return "absolutePath"
        case .words: return "words"
        case .paths: return "paths"
        case .loadPhases: return "loadPhases"
        }
    }

    @Test func schemaListsExactlyTheKeysTheLoaderAccepts() throws {
        let schema = try SchemaDocument(path: Self.schemaPath)
        let known = Set(ScenarioField.knownPaths + ["environment.*", "target.parameters.*"])

        let grouped = try #require(schema.definition("groupedSettings"))
        let topKeys = Set(schema.root["properties"]!.object.keys).union(grouped["properties"]!.object.keys)
        #expect(topKeys == Set(ScenarioLoader.topLevelKeys))

        let places: [(String, Set<SchemaDocument.Leaf>)] = [
            ("top level", schema.leaves(of: schema.root, skipping: ["name", "description", "sweep", "variants", "expect"])),
            ("variant, nested", schema.leaves(of: grouped)),
            ("variant, dotted", schema.leaves(of: try #require(schema.definition("dottedSettings")))),
            ("sweep", schema.leaves(of: try #require(schema.definition("sweep")))),
        ]
        for (place, leaves) in places {
            let paths = Set(leaves.map(\.path))
            #expect(paths.subtracting(known).isEmpty, "\(place): in the schema, not the loader: \(paths.subtracting(known).sorted())")
            #expect(known.subtracting(paths).isEmpty, "\(place): in the loader, not the schema: \(known.subtracting(paths).sorted())")
            for leaf in leaves {
                let field = try #require(ScenarioField.lookup(leaf.path.replacing("*", with: "NAME")), "\(place): \(leaf.path)")
                #expect(leaf.definition == Self.definition(for: field.kind), "\(place): \(leaf.path) is \(leaf.definition ?? "?")")
            }
        }
        let variant = try #require(schema.definition("variant"))
        #expect(Set(variant["properties"]!.object.keys) == ["config", "sweep"])

        let filter = schema.leaves(of: try #require(schema.definition("filter")), skipping: ["config", "phase"])
        #expect(Set(filter.map(\.path)) == known)
        #expect(schema.definition("filter")?["properties"]?["config"] != nil)

        #expect(schema.definition("executorKind")?["enum"]?.array.compactMap(\.string) == RunPlan.executorKinds)
        // The built-in workloads, or (with `host:`) a route of the scenario's own host written as its path.
        let workloadChoices = schema.definition("workloadName")?["anyOf"]?.array
        #expect(workloadChoices?.first?["enum"]?.array.compactMap(\.string) == RunPlan.workloads)
        #expect(workloadChoices?.last?["pattern"]?.string == "^/[A-Za-z0-9_./-]*$")
        #expect(Set(schema.definition("workloadOptions")!["properties"]!.object.keys) == Set(ScenarioField.anyWorkloadOption.keys))

        let pattern = try #require(schema.definition("assertion")?["pattern"]?.string)
        let names = SchemaDocument.alternatives(inPattern: pattern)
        #expect(Set(names.filter { !$0.hasPrefix("workload.") }) == Set(SummaryField.knownNames))
        #expect(names.contains { $0.hasPrefix("workload.") }, "`workload.NAME` fields are missing from the assertion pattern")
        let expectation = try #require(schema.definition("expectation")?["anyOf"]?.array.last?["properties"])
        #expect(Set(expectation.object.keys) == ["that", "where"])

        let limits = schema.leaves(of: try #require(schema.definition("limits")))
        #expect(Set(limits.map(\.path)) == Set(ServiceLimits.fields.map(\.path)))
    }

    /// Broken files the CLI must refuse before running anything: (case name in `BrokenScenarioTable`).
    static let cliCases = ["unknown executor kind", "negative tmpfs", "sweep of an empty list", "expectation on unknown field",
                           "YAML syntax: tab indentation", "duplicate key", "upload without payload"]

    @Test func cliRefusesBrokenFilesWithFileLineColumnAndRunsNothing() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-broken")
        defer { TestSupport.removeTree(dir) }
        var files: [(path: String, line: Int)] = []
        for (k, name) in Self.cliCases.enumerated() {
            let (_, text, line) = try #require(BrokenScenarioTable.cases.first { $0.0 == name }, "no case \(name)")
            let path = "\(dir)/broken-\(k).yaml"
            try Data(text.utf8).write(to: URL(filePath: path))
            files.append((path, line))
        }
        let out = dir + "/results"
        func expectRefused(_ command: [String], naming expected: [(path: String, line: Int)]) async {
            let r = await TestSupport.run(command)
            #expect(r.termination == .exited(2), "\(command.dropFirst().joined(separator: " ")): \(r.termination); stderr: \(r.stderr)")
            for (path, line) in expected {
                // Each diagnostic starts its line, as a compiler's does, so editors and CI annotations find it.
                let located = r.stderr.split(separator: "\n").contains { text in
                    guard text.hasPrefix("\(path):\(line):") else { return false }
                    return text.dropFirst("\(path):\(line):".count).wholeMatch(of: /[0-9]+: error: .+/) != nil
                }
                #expect(located, "\(command.dropFirst().joined(separator: " ")) did not report \(path):\(line):COL: error:\n\(r.stderr)")
            }
            #expect(access(out, F_OK) != 0, "\(out) was created: something ran")
        }
        for file in files {
            await expectRefused([TestSupport.highwater, "check", "--out", out, file.path], naming: [file])
            await expectRefused([TestSupport.highwater, "run", "--out", out, file.path], naming: [file])
        }
        // All files at once: every file's problem in one answer, not the first only.
        await expectRefused([TestSupport.highwater, "check", "--out", out] + files.map(\.path), naming: files)
        await expectRefused([TestSupport.highwater, "run", "--out", out] + files.map(\.path), naming: files)
    }
}
