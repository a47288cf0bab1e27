/// A point of a chart series, in data units.
package struct ChartPoint: Equatable, Sendable {
    package var x: Double
    package var y: Double
    package init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

/// Fewer points for big series, keeping each bucket's lowest and highest value: a spike or a step
/// must survive, and an average would hide exactly what the reader is looking for.
package enum Downsample {
    /// The points of `count` values, at most about `2 * buckets` of them, in index order; the first
    /// and last points are always kept.
    package static func minMax(count: Int, buckets: Int, x: (Int) -> Double, y: (Int) -> Double) -> [ChartPoint] {
        guard count > 0 else { return [] }
        if count <= 2 * buckets || buckets < 1 { return (0..<count).map { ChartPoint(x($0), y($0)) } }
        var out: [ChartPoint] = []
        out.reserveCapacity(2 * buckets + 2)
        out.append(ChartPoint(x(0), y(0)))
        for b in 0..<buckets {
            let lo = max(1, b * count / buckets), hi = min(count - 1, (b + 1) * count / buckets)
            guard lo < hi else { continue }
            var minI = lo, maxI = lo, minY = y(lo), maxY = minY
            for i in (lo + 1)..<hi {
                let v = y(i)
                if v < minY { minY = v; minI = i }
                if v > maxY { maxY = v; maxI = i }
            }
            if minI == maxI {
                out.append(ChartPoint(x(minI), minY))
            } else if minI < maxI {
                out.append(ChartPoint(x(minI), minY)); out.append(ChartPoint(x(maxI), maxY))
            } else {
                out.append(ChartPoint(x(maxI), maxY)); out.append(ChartPoint(x(minI), minY))
            }
        }
        out.append(ChartPoint(x(count - 1), y(count - 1)))
        return out
    }

    package static func minMax(_ ys: [Double], buckets: Int) -> [ChartPoint] {
        ys.withUnsafeBufferPointer { b in minMax(count: b.count, buckets: buckets, x: { Double($0) }, y: { b[$0] }) }
    }
}
