import Foundation

/// Number-to-text rules shared by the tables, the summary and the chart axes.
enum NumberFormatting {
    /// Integers without a fraction, other values as Swift writes them (shortest round-trip form).
    static func plain(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }

    /// A value for a table cell: integers as is, ≥ 1000 without decimals, ≥ 1 with two, else up to
    /// four decimals (accuracies in percent read 84.37, NMI reads 0.6512, σ reads 0.07).
    static func table(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        let magnitude = abs(value)
        if magnitude >= 1000 { return String(format: "%.0f", value) }
        if magnitude >= 1 { return String(format: "%.2f", value) }
        if magnitude >= 1e-3 {
            // 0.0700 reads better as 0.07; whole-percent columns keep their two decimals above.
            var text = String(format: "%.4f", value)
            while text.hasSuffix("0") { text.removeLast() }
            return text
        }
        return String(format: "%.3g", value)
    }

    /// An axis tick label: as many decimals as the tick step needs, scientific for tiny steps.
    static func tick(_ value: Double, step: Double) -> String {
        if abs(value) < step * 1e-9 { return "0" }
        guard step > 0, step.isFinite else { return plain(value) }
        if step < 1e-4 || abs(value) >= 1e7 { return String(format: "%.1e", value) }
        let decimals = max(0, Int((-log10(step) - 1e-9).rounded(.up)))
        // A step like 0.25 needs one more decimal than its order of magnitude says.
        let fitted = (0...6).first { extra in
            let scaled = step * pow(10, Double(decimals + extra))
            return abs(scaled - scaled.rounded()) < 1e-6
        } ?? 0
        return String(format: "%.\(decimals + fitted)f", value)
    }

    /// Seconds as `1 h 02 min`, `12 min 5 s` or `42 s`.
    static func duration(seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "–" }
        let total = Int(seconds.rounded())
        let hours = total / 3600, minutes = (total % 3600) / 60, secs = total % 60
        if hours > 0 { return String(format: "%d h %02d min", hours, minutes) }
        if minutes > 0 { return "\(minutes) min \(secs) s" }
        return "\(secs) s"
    }
}
