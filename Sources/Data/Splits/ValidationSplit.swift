import Foundation
import Randomness

/// How many training images to hold out for validation: a count or a percentage of the
/// training split. Written `5000` or `10%` on the command line and in recipes.
public enum ValidationSize: Equatable, Sendable, Codable, CustomStringConvertible {
    /// Exactly this many images.
    case count(Int)
    /// This percentage of the training split, rounded down.
    case percent(Double)

    /// Parses `N` or `P%`; throws naming `--validation` when the text is neither or out of range.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            guard let p = Double(trimmed.dropLast()), p >= 0, p < 100 else {
                throw DataError.invalidOption("--validation must be a count N or a percentage P% with 0 ≤ P < 100, got '\(text)'")
            }
            self = .percent(p)
        } else {
            guard let n = Int(trimmed), n >= 0 else {
                throw DataError.invalidOption("--validation must be a count N ≥ 0 or a percentage P%, got '\(text)'")
            }
            self = .count(n)
        }
    }

    /// True for `0` and `0%`: no image held out.
    public var holdsNone: Bool { self == .count(0) || self == .percent(0) }

    /// `5000` or `10%`.
    public var description: String {
        switch self {
        case .count(let n): return String(n)
        case .percent(let p): return p == p.rounded() ? "\(Int(p))%" : "\(p)%"
        }
    }

    /// The number of images held out of a training split of `total` images.
    public func count(of total: Int) -> Int {
        switch self {
        case .count(let n): return n
        case .percent(let p): return Int((Double(total) * p / 100).rounded(.down))
        }
    }

    /// Encoded as its text, so `config.json` reads `"validation": "5000"`.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    /// Writes `description`.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The training split divided into the images a run learns from and the images it is validated
/// on. The draw looks only at indices (never at labels), is a pure function of the split seed,
/// and does not depend on `--train-subset`, so runs that differ in anything else share one
/// validation set.
public struct TrainValidationSplit: Equatable, Sendable {
    /// Training indices of the dataset, ascending: the memory bank's rows, in order.
    public let training: [Int]
    /// Held-out indices of the dataset, ascending.
    public let validation: [Int]

    /// Holds `validation` images of `total` out (drawn with `seed`), then keeps the first
    /// `trainLimit` of the rest (all when nil). An unlabelled dataset holds nothing out: without
    /// labels there is no validation score, and the images are better trained on. Throws naming
    /// the option when the split would take half of the images or more.
    public init(total: Int, validation: ValidationSize?, labelled: Bool = true, trainLimit: Int? = nil, seed: UInt64) throws {
        let held = labelled ? validation?.count(of: total) ?? 0 : 0
        guard held == 0 || held * 2 <= total else {
            throw DataError.invalidOption("--validation \(validation!) holds out \(held) of the \(total) training images; hold out at most half "
                                          + "(e.g. --validation 10%), or --validation 0 for none")
        }
        var isHeld = [Bool](repeating: false, count: total)
        if held > 0 {
            // A partial Fisher–Yates shuffle: the first `held` entries are a uniform draw.
            var generator = SeededGenerator(seed: seed, streams: [0x7661_6C69_6461_7465])   // "validate"
            var order = Array(0..<total)
            for i in 0..<held {
                let j = i + Int(generator.next() % UInt64(total - i))
                order.swapAt(i, j)
                isHeld[order[i]] = true
            }
        }
        var training: [Int] = [], validationIndices: [Int] = []
        training.reserveCapacity(total - held)
        validationIndices.reserveCapacity(held)
        for i in 0..<total { if isHeld[i] { validationIndices.append(i) } else { training.append(i) } }
        if let trainLimit { training = Array(training.prefix(max(trainLimit, 0))) }
        self.training = training
        self.validation = validationIndices
    }
}

/// The images of `base` at `indices`, renumbered 0..<indices.count: a training split without
/// its held-out images, so that positions in it are memory-bank rows.
public struct IndexedSubset: ImageDataset {
    /// The dataset the images come from.
    public let base: any ImageDataset
    /// Indices into `base`, in the order this dataset numbers them.
    public let indices: [Int]
    /// A short name for logs.
    public let name: String

    /// Wraps `base`; throws naming the first index outside it.
    public init(base: any ImageDataset, indices: [Int], name: String? = nil) throws {
        if let bad = indices.first(where: { $0 < 0 || $0 >= base.count }) {
            throw DataError.invalidOption("index \(bad) is outside \(base.name) (0..<\(base.count))")
        }
        self.base = base
        self.indices = indices
        self.name = name ?? base.name
    }

    /// The number of selected images.
    public var count: Int { indices.count }
    /// The base dataset's channels.
    public var channels: Int { base.channels }
    /// The base dataset's class count.
    public var classCount: Int? { base.classCount }

    /// The image at position `index` of the selection.
    public func image(at index: Int) throws -> ImageU8 {
        try checkIndex(index)
        return try base.image(at: indices[index])
    }

    /// The base's file for position `index` of the selection.
    public func sourcePath(at index: Int) -> String? { indices.indices.contains(index) ? base.sourcePath(at: indices[index]) : nil }

    /// The label at position `index` of the selection.
    public func label(at index: Int) -> Int? {
        guard index >= 0 && index < indices.count else { return nil }
        return base.label(at: indices[index])
    }
}
