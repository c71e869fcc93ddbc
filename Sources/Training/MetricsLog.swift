import Foundation

/// The run directory kept consistent on resume: `metrics.jsonl` agrees with the checkpoint, and
/// no file half-written by a killed process stays behind.
enum MetricsLog {
    /// Deletes the temporary files of checkpoint writes a killed process left (`.checkpoint-….tmp-PID-N`,
    /// `.metrics.jsonl.tmp`): a resumed run writes its own.
    static func removeAbandonedTemporaryFiles(in directory: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(".") && name.contains(".tmp") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// Rewrites the JSON-lines file at `url` (atomically) with only the lines whose `epoch` is at
    /// most `epoch`, also dropping a line cut short by an interruption; returns how many lines
    /// were dropped (0 leaves the file untouched; an absent file is nothing to do).
    static func keepEpochs(upTo epoch: Int, in url: URL) throws -> Int {
        guard let data = try? Data(contentsOf: url) else { return 0 }
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: true)
        let kept = lines.filter { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let lineEpoch = object["epoch"] as? Int else { return false }
            return lineEpoch <= epoch
        }
        guard kept.count < lines.count else { return 0 }
        var text = Data()
        for line in kept { text.append(contentsOf: line); text.append(0x0A) }
        try writeAtomically(text, to: url)
        return lines.count - kept.count
    }
}
