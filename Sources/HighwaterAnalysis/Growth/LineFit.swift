/// A least-squares line over y by its index, with the figures a verdict quotes: slope, its 95% interval,
/// R², and the residuals' robust scale.
package struct LineFit: Sendable {
    package var slope: Double
    package var intercept: Double
    /// Half-width of the slope's 95% interval. Residuals of memory series are strongly correlated (a step
    /// stays), so the standard error is widened by the lag-1 autocorrelation (effective sample size).
    package var ci95: Double
    package var rSquared: Double
    /// 1.4826 x the median absolute residual: the noise a level is judged against.
    package var residualScale: Double

    package init(_ ys: [Double]) {
        let count = ys.count
        guard count >= 2 else {
            slope = 0; intercept = ys.first ?? 0; ci95 = 0; rSquared = 0; residualScale = 0
            return
        }
        let n = Double(count)
        let meanX = (n - 1) / 2
        let meanY = ys.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (i, y) in ys.enumerated() {
            let dx = Double(i) - meanX, dy = y - meanY
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        slope = sxx == 0 ? 0 : sxy / sxx
        intercept = meanY - slope * meanX
        var residuals = [Double](repeating: 0, count: count)
        var sse = 0.0
        for (i, y) in ys.enumerated() {
            residuals[i] = y - (intercept + slope * Double(i))
            sse += residuals[i] * residuals[i]
        }
        rSquared = syy == 0 ? 0 : max(0, 1 - sse / syy)
        var lag = 0.0
        for i in 1..<count { lag += residuals[i] * residuals[i - 1] }
        let r1 = sse == 0 ? 0 : min(max(lag / sse, 0), 0.99)
        let effective = max(2.0, n * (1 - r1) / (1 + r1))
        let se = count > 2 && sxx > 0 ? (sse / (n - 2)).squareRoot() / sxx.squareRoot() * (n / effective).squareRoot() : 0
        ci95 = 1.96 * se
        let absolute = residuals.map { abs($0) }.sorted()
        residualScale = 1.4826 * absolute[count / 2]
    }
}

/// Where a rise stops: the split that best explains the series as a line (the climb) followed by a
/// constant level, by least squares over every split. One dip late in the level costs both models the
/// same and cannot move the split; equal steps are fitted exactly by the line, so the level starts at
/// the first request that is at it.
package enum ChangePoint {
    /// The position where the level starts (0 when the whole series is level; count-1 when it never is).
    package static func lineThenLevel(_ ys: [Double]) -> Int {
        let n = ys.count
        guard n >= 3 else { return max(n - 1, 0) }
        // Prefix sums: x, x², y, xy, y²; centred on the mean to keep the squares' precision.
        let mean = ys.reduce(0, +) / Double(n)
        var sx = [0.0], sxx = [0.0], sy = [0.0], sxy = [0.0], syy = [0.0]
        for (i, raw) in ys.enumerated() {
            let x = Double(i), y = raw - mean
            sx.append(sx[i] + x); sxx.append(sxx[i] + x * x); sy.append(sy[i] + y)
            sxy.append(sxy[i] + x * y); syy.append(syy[i] + y * y)
        }
        func level(_ a: Int, _ b: Int) -> Double {
            let m = Double(b - a), y = sy[b] - sy[a]
            return (syy[b] - syy[a]) - y * y / m
        }
        func line(_ a: Int, _ b: Int) -> Double {
            let m = Double(b - a)
            guard m >= 3 else { return 0 }
            let x = sx[b] - sx[a], y = sy[b] - sy[a]
            let cxx = (sxx[b] - sxx[a]) - x * x / m
            let cxy = (sxy[b] - sxy[a]) - x * y / m
            let cyy = (syy[b] - syy[a]) - y * y / m
            return max(0, cyy - (cxx > 0 ? cxy * cxy / cxx : 0))
        }
        var best = 0, bestCost = level(0, n)
        let tolerance = max(1e-9 * (syy[n] - sy[n] * sy[n] / Double(n)), 1)
        for p in 1..<n {
            let cost = line(0, p) + level(p, n)
            // Ties go to the earliest split: the first request already at the level.
            if cost < bestCost - tolerance { best = p; bestCost = cost }
        }
        return refine(ys, best)
    }

    /// Moves the split onto the first request at the level: back over requests already at it, forward
    /// past ones still below it, judged against the level's own noise.
    static func refine(_ ys: [Double], _ split: Int) -> Int {
        let n = ys.count
        guard split < n - 1 else { return split }
        let tail = ys[split...].sorted()
        let level = tail[tail.count / 2]
        let deviations = ys[split...].map { abs($0 - level) }.sorted()
        let tolerance = max(3 * 1.4826 * deviations[deviations.count / 2], 4096)
        var p = split
        while p > 0, abs(ys[p - 1] - level) <= tolerance { p -= 1 }
        while p < n - 1, level - ys[p] > tolerance { p += 1 }
        return p
    }
}
