extension RandomAccessCollection where Index == Int {
    /// The index of the first element for which `isBefore` is false, in a collection where every element for which it
    /// is true comes first (sorted by the key it tests): a binary search. `count` when it holds for all.
    /// "The last at or below x" is `partitionPoint { $0 <= x } - 1`; "the first at or after x", `partitionPoint { $0 < x }`.
    package func partitionPoint(_ isBefore: (Element) -> Bool) -> Int {
        var low = startIndex, high = endIndex
        while low < high {
            let mid = low + (high - low) / 2
            if isBefore(self[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
