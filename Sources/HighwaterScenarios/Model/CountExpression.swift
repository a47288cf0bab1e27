/// A count written with the machine's CPUs in it: `40`, `cores`, `cores * 5`, `2 * cores + 1`.
/// Kept as written so a scenario reads the same on every machine; resolved when plans are made.
package struct CountExpression: Equatable, Sendable, CustomStringConvertible {
    enum Token: Equatable, Sendable { case number(Int), cores, plus, minus, times }

    let tokens: [Token]
    package let text: String

    package init?(_ text: String) {
        var tokens: [Token] = []
        var rest = Substring(text.lowercased())
        while let c = rest.first {
            if c == " " { rest.removeFirst(); continue }
            if c.isASCII && c.isNumber {
                let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
                // Past Int.max the value overflows when resolved, which says "too large" rather than "not a count".
                tokens.append(.number(Int(digits) ?? .max)); rest.removeFirst(digits.count)
            } else if rest.hasPrefix("cores") {
                tokens.append(.cores); rest.removeFirst(5)
            } else if c == "*" || c == "x" || c == "×" {
                tokens.append(.times); rest.removeFirst()
            } else if c == "+" {
                tokens.append(.plus); rest.removeFirst()
            } else if c == "-" {
                tokens.append(.minus); rest.removeFirst()
            } else {
                return nil
            }
        }
        // Operands and operators must alternate, starting and ending with an operand.
        for (i, token) in tokens.enumerated() {
            let isOperand = token == .cores || { if case .number = token { return true } else { return false } }()
            if isOperand != (i % 2 == 0) { return nil }
        }
        guard tokens.count % 2 == 1 else { return nil }
        self.tokens = tokens
        self.text = text
    }

    /// The value on a machine with `cores` CPUs; `*` binds tighter than `+` and `-`. Nil when it overflows.
    package func value(cores: Int) -> Int? {
        var total = 0, term = 1, sign = 1
        func multiply(_ n: Int) -> Bool {
            let (v, o) = term.multipliedReportingOverflow(by: n)
            term = v
            return !o
        }
        func add() -> Bool {
            let (v, o) = total.addingReportingOverflow(sign * term)
            total = v
            return !o
        }
        for token in tokens {
            switch token {
            case .number(let n): guard multiply(n) else { return nil }
            case .cores: guard multiply(cores) else { return nil }
            case .times: break
            case .plus, .minus:
                guard add() else { return nil }
                term = 1
                sign = token == .plus ? 1 : -1
            }
        }
        return add() ? total : nil
    }

    package var usesCores: Bool { tokens.contains(.cores) }

    /// `cores * 5` as a label part: `coresx5`.
    package var label: String {
        String(text.lowercased().filter { $0 != " " }.map { $0 == "*" || $0 == "×" ? "x" : $0 })
    }

    package var description: String { text }
}
